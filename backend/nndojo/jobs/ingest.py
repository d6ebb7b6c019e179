"""The event socket: where training workers write their jobs' events (nndojo.jobs.wire).

- Listens only where workers can reach it: loopback with the embedded Ray; in a cluster, this node's address (or
  NNDOJO_WORKER_EVENTS_HOST), never every interface.
- A connection must show the server's token in a small hello first (MAX_HELLO bytes, within HELLO_TIMEOUT_S); nothing
  larger is read from it before that. Later frames are bounded by MAX_FRAME.
- Backpressure: before reading the next frame the reader waits for room in the batch writer's queue, so a flood of
  events slows the workers (their socket writes block) instead of growing the server's memory.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable

from nndojo.jobs import wire

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0


class EventSocket:
    def __init__(self, token: str, on_frame: Callable[[wire.Frame], None], room: Callable[[], Awaitable[None]]):
        self.token = token
        self.on_frame = on_frame
        self.room = room
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, bind: str, advertise: str) -> None:
        self._server = await asyncio.start_server(self._on_connection, bind, 0)
        self.address = (advertise, self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One slot's stream of frames, handed on in order once the hello has shown the token."""
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            hello = await asyncio.wait_for(wire.read_frame(reader, wire.MAX_HELLO), HELLO_TIMEOUT_S)
            if hello.kind != wire.HELLO or not secrets.compare_digest(str(hello.meta.get("token", "")).encode(), self.token.encode()):
                log.warning("refused an event connection from %s without this server's token", writer.get_extra_info("peername"))
                return
            while True:
                await self.room()
                self.on_frame(await wire.read_frame(reader))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker went away; its job's supervisor sees that through Ray
        except (TimeoutError, wire.FrameError) as exc:
            log.warning("dropped an event connection: %s", exc)
        except Exception:
            log.exception("bad frame on an event connection")
        finally:
            self._writers.discard(writer)
            writer.close()

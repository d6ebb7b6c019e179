"""uvicorn's h11 protocol with a deadline for each request's head.

uvicorn closes a keep-alive connection that stays silent after a response, but not one that never sends a request,
nor one that sends part of a request line or headers and then stalls: each would hold a socket (and up to
max_header_bytes) for as long as the client likes. Here a request's head must arrive within keep_alive_s of the
connection opening or of the previous response; the body then has the request guard's deadline (body_timeout_s).
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class H11WithHeadDeadline(H11Protocol):
    head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        if not self.transport.is_closing():
            self.head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_deadline_passed)

    def _disarm_head_deadline(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_deadline_passed(self) -> None:
        """Closes the connection if no request head has come in (a websocket it was upgraded to is not ours to close)."""
        self.head_timer = None
        if self.conn.their_state is h11.IDLE and self.transport.get_protocol() is self:
            self.timeout_keep_alive_handler()

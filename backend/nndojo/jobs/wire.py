"""The event channel from training workers to the server: length-prefixed frames over one TCP connection per slot.

Why not Ray calls: every call into a worker (a poll) or out of it (a push) takes the GIL from the training thread for
about a millisecond, which slowed 45 ms jobs by 20-130 %; a socket write from the training thread itself costs tens of
microseconds and reaches the server at once. Ray still starts, cancels and supervises the jobs.

Events leave the worker already encoded as JSON (orjson, NaN and infinity as null), so the server never parses or
re-encodes them: it splices its seq in front and stores and sends that text. Beside the payload each frame carries a
small JSON `meta` with what the server tracks a job by (status, epoch, final metrics, the epoch's scalars).

A run's trained weights (a safetensors file, up to MAX_WEIGHTS_BYTES) travel as weights frames of at most WEIGHTS_CHUNK
bytes each, before the final status event, so every frame stays under MAX_FRAME and the file is stored before anyone
can see the run finished.

Frame: u32 length, then kind (1 byte: h hello, e event, w weights, x end), u8 job-id length, job id, u32 meta length, meta JSON,
and the rest is the payload. The first frame of a connection must be a hello with the server's token, at most
MAX_HELLO bytes: nothing larger is read from a peer that has not shown the token, so a stranger on the port costs
the server a few bytes, and frames after it are bounded by MAX_FRAME.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import struct
from dataclasses import dataclass
from typing import Any

import orjson

from nndojo.jobs.metrics import scalars
from nndojo.spec.models import MAX_PARAMS
from nndojo.train.rounding import JsonText

HELLO, EVENT, WEIGHTS, END = b"h", b"e", b"w", b"x"
MAX_HELLO = 1024
MAX_FRAME = 16 * 1024 * 1024  # far above the largest event the trainer's payload budget allows
WEIGHTS_CHUNK = 8 * 1024 * 1024
# float32 parameters of the largest model a spec allows, as many buffer values again (batchnorm's running statistics
# never outnumber its parameters), and the header: every run's weights fit
MAX_WEIGHTS_BYTES = 8 * MAX_PARAMS + (1 << 20)
_U32 = struct.Struct("!I")
# Fields the server needs to track a job without parsing the event text.
META_FIELDS = ("type", "status", "epoch", "device", "n_params", "train", "test", "error", "error_code", "action")


class FrameError(ValueError):
    """A frame that breaks the protocol: too large, truncated header, or not a hello first."""


@dataclass(frozen=True)
class Frame:
    kind: bytes
    job_id: str
    meta: dict[str, Any]
    payload: bytes


def _finite(value: Any) -> Any:
    """NaN and infinity are not JSON: a diverged loss is sent as null."""
    if isinstance(value, JsonText):
        return orjson.loads(value.text)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _spliced(value: Any) -> orjson.Fragment:
    if isinstance(value, JsonText):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_json(value: Any) -> bytes:
    """Compact JSON with NaN and infinity as null, and text already encoded (JsonText) spliced in. orjson does all
    that itself, 7x faster than json.dumps on boundary grids; json is the fallback for what orjson refuses (a non-str
    key, an int over 64 bits)."""
    try:
        return orjson.dumps(value, default=_spliced)
    except orjson.JSONEncodeError:
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False).encode()


def encode_frame(kind: bytes, job_id: str, meta: dict[str, Any], payload: bytes = b"") -> bytes:
    jid = job_id.encode()
    meta_bytes = to_json(meta)
    body = b"".join((kind, bytes([len(jid)]), jid, _U32.pack(len(meta_bytes)), meta_bytes, payload))
    return _U32.pack(len(body)) + body


def event_meta(event: dict[str, Any]) -> dict[str, Any]:
    """The few fields the server tracks a job by, and for an epoch its scalars (stored as the job's metrics)."""
    meta = {key: event[key] for key in META_FIELDS if key in event}
    if event.get("type") == "epoch":
        meta["metrics"] = scalars(event)
    return meta


def event_frame(job_id: str, event: dict[str, Any]) -> bytes:
    return encode_frame(EVENT, job_id, event_meta(event), to_json(event))


def weights_frames(job_id: str, data: bytes) -> list[bytes]:
    """The weights file in frames of at most WEIGHTS_CHUNK bytes; each one's meta says where it goes in the whole."""
    return [
        encode_frame(WEIGHTS, job_id, {"offset": start, "total": len(data)}, data[start : start + WEIGHTS_CHUNK])
        for start in range(0, max(len(data), 1), WEIGHTS_CHUNK)
    ]


def decode_body(body: bytes) -> Frame:
    try:
        kind, jid_len = body[:1], body[1]
        jid_end = 2 + jid_len
        (meta_len,) = _U32.unpack_from(body, jid_end)
        meta_end = jid_end + 4 + meta_len
        meta = orjson.loads(body[jid_end + 4 : meta_end])
        job_id = body[2:jid_end].decode()
    except (IndexError, struct.error, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FrameError(f"malformed frame: {exc}") from exc
    if not isinstance(meta, dict):
        raise FrameError("a frame's meta must be a JSON object")
    return Frame(kind, job_id, meta, body[meta_end:])


async def read_frame(reader: asyncio.StreamReader, max_bytes: int = MAX_FRAME) -> Frame:
    (length,) = _U32.unpack(await reader.readexactly(4))
    if length > max_bytes:
        raise FrameError(f"frame of {length} bytes is over the limit of {max_bytes}")
    return decode_body(await reader.readexactly(length))


def hello_frame(token: str) -> bytes:
    return encode_frame(HELLO, "", {"token": token})


class Sender:
    """The worker's end: one connection, opened on first use and again after a failure."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._address: tuple[str, int] | None = None

    def send(self, address: tuple[str, int], token: str, data: bytes) -> None:
        if self._sock is None or self._address != address:
            self.close()
            sock = socket.create_connection(address, timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # an epoch's event leaves now, not in 40 ms
            sock.sendall(hello_frame(token))
            self._sock, self._address = sock, address
        try:
            self._sock.sendall(data)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

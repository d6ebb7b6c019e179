"""One server per data directory: an exclusive lock on <data_dir>/server.lock, held for the server's whole life.

Two servers on one data directory would both own its jobs: the second marks the first's running jobs interrupted,
and their events then collide. serve() takes this lock before anything else reads or writes the directory (the
store, the database migrations, Ray); a second server finds it held and stops, naming the holder from the file.
The lock is the kernel's (flock): it goes away with the process, however that ends, so a stale file never blocks.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

LOCK_NAME = "server.lock"


class DataDirBusy(RuntimeError):
    """Another live process holds the data directory's lock."""


class DataDirLock:
    """The held lock; release() (or the process's exit) lets the next server in."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def holder(path: Path) -> dict[str, object]:
    """What the holding server wrote into the lock file ({} while it has not yet written it)."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def lock_data_dir(data_dir: Path, port: int, host: str) -> DataDirLock:
    """Takes the data directory for this process or raises DataDirBusy; writes its pid, host and port into the file.

    Creating the directory and the lock file is all this does to a directory it does not get; it never truncates a
    held file. The descriptor is not inherited by child processes (Ray's), so the lock dies with this process only.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        info = holder(path)
        who = f"pid {info.get('pid', '?')}, port {info.get('port', '?')}"
        raise DataDirBusy(
            f"another NN Dojo server ({who}) is using the data directory {data_dir.resolve()}; stop it first, or give this one "
            "its own directory with --data-dir or NNDOJO_DATA_DIR"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "host": host, "port": port}).encode() + b"\n")
    return DataDirLock(path, fd)

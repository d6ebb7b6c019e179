"""The server's limits and the 422 item that reports one exceeded, shared by every check of a limit."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nndojo.spec import models as m

MAX_WORKER_MEMORY_MB = 2048  # a worker's budget for one job: weights, optimiser state, activations, data and evaluation


@dataclass(frozen=True)
class Limits:
    """The API's hard limits; a server's settings may lower them, never raise them (the worker budget is the server's own)."""

    max_layers: int = m.MAX_LAYERS
    max_units: int = m.MAX_UNITS
    max_filters: int = m.MAX_FILTERS
    max_params: int = m.MAX_PARAMS
    max_epochs: int = m.MAX_EPOCHS
    max_samples: int = m.MAX_SAMPLES
    max_worker_memory_mb: int = MAX_WORKER_MEMORY_MB

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def limit_error(loc: tuple, msg: str, limit: str, limits: Limits, **ctx: Any) -> dict[str, Any]:
    """A limit of this server, exceeded: the error item every check of a limit returns, so the page can translate it."""
    return {"loc": list(loc), "msg": msg, "type": "limit", "ctx": {"code": "limit", "limit": limit, "max": getattr(limits, limit), **ctx}}

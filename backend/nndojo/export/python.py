"""A run as one self-contained .py file: header, imports, settings, data, model, training, in that order.

The parts come from nndojo.export.data, .model and .training; the notebook (nndojo.export.notebook) puts the same parts
in cells. Imports are gathered here, kept only where the code uses them, and sorted as isort sorts them, so that the
file passes a linter as it is.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from typing import Any

from nndojo.export.data import Part, data_part
from nndojo.export.model import model_part
from nndojo.export.snippet import Lang, Snippet, one_line
from nndojo.export.training import training_part
from nndojo.spec import models as m

HEADER = Snippet(
    """
    # NN Dojo: the run "$name", exported as plain PyTorch.
    #
    """
)
RUN_IT = Snippet("# Run it with: python $filename (it needs $needs)")
ABOUT = Snippet(
    """
    # It trains the same network on the same data, from the same seed, as the server did, and prints each epoch's
    # loss (and accuracy, for classes) on the training and test sets: on the CPU they match the run's own to 4 digits.
    """
)
ON_GPU = Snippet("# The run trained on a GPU ($device), whose sums round differently: on a CPU its numbers differ a little.")
STOPPED = Snippet("# The run stopped ($status) after epoch $epoch of $epochs; this file trains all $epochs epochs.")
SETTINGS = Snippet(
    """
    SEED = $seed  # every random choice follows from it: the data, the first weights, the order of the samples, dropout
    EPOCHS = $epochs
    LEARNING_RATE = $lr
    torch.set_num_threads(1)  # one thread, as on the server: the same sums in the same order give the same numbers
    """
)
WEIGHTS = Snippet(
    """
    # To start from the run's trained weights instead (Export → weights, a .safetensors file), after `model = Net()`:
    #     from safetensors.torch import load_file
    #     model.load_state_dict(load_file("$weights"))
    """
)


@dataclass(frozen=True)
class Run:
    """What an export says about the run besides its spec."""

    id: str
    name: str
    status: str
    epoch: int | None
    lr_changes: tuple[tuple[int, float], ...] = ()  # live learning-rate changes: (steps taken before it, new rate)
    device: str | None = None  # where it trained: cpu, cuda:0, …

    @classmethod
    def of(cls, job: dict[str, Any]) -> Run:
        return cls(str(job["id"]), str(job.get("name") or ""), str(job["status"]), job.get("epoch"), device=job.get("device"))

    @property
    def slug(self) -> str:
        """A file name stem from the run's name (ASCII letters, digits, - and _), else from its id."""
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", self.name).strip("-_")[:60]
        return f"nndojo-{stem or self.id[:8]}"


def _bound(statement: str) -> str:
    """The name an import statement binds: `np` for `import numpy as np`, `Path` for `from pathlib import Path`."""
    return statement.split(" as ")[-1].split()[-1].split(".")[0]


def _used_names(code: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


def import_block(parts: list[Part], code: str) -> str:
    """The imports the code uses: the standard library's first, then the rest; `import x` before `from x import y`."""
    used = _used_names(code)
    wanted = sorted({s for part in parts for s in part.imports if _bound(s) in used})

    def key(statement: str) -> tuple[bool, str]:
        return (statement.startswith("from "), statement.split()[1].lower())

    groups = [
        sorted((s for s in wanted if s.split()[1].split(".")[0] in sys.stdlib_module_names), key=key),
        sorted((s for s in wanted if s.split()[1].split(".")[0] not in sys.stdlib_module_names), key=key),
    ]
    return "\n\n".join("\n".join(group) for group in groups if group)


def needs(spec: m.JobSpec, lang: Lang) -> str:
    """The packages the exported file needs beyond Python."""
    names = ["torch", "numpy", *(["scikit-learn"] if spec.dataset.name == "digits" else [])]
    return "・".join(names) if lang == "ja" else ", ".join(names[:-1]) + " and " + names[-1]


def sections(spec: m.JobSpec, run: Run, lang: Lang, upload: dict[str, Any] | None = None) -> tuple[Part, Part, Part, Part]:
    """Settings, data, model and training: the parts both the .py file and the notebook are made of (`upload`: the
    entry of the uploaded set the spec names)."""
    settings = Part(
        ("import torch",), SETTINGS.render(lang, seed=spec.seed, epochs=spec.training.epochs, lr=repr(spec.training.optimizer.lr))
    )
    return settings, data_part(spec, lang, upload), model_part(spec, lang), training_part(spec, lang, run.lr_changes)


def header(spec: m.JobSpec, run: Run, lang: Lang, filename: str | None) -> str:
    """The opening comment: what the file is and does; how to run it (for a .py file); where a stopped run stopped."""
    lines = [HEADER.render(lang, name=one_line(run.name))]
    if filename is not None:
        lines.append(RUN_IT.render(lang, filename=filename, needs=needs(spec, lang)))
    lines.append(ABOUT.render(lang))
    if run.device and run.device.startswith("cuda"):
        lines += ["#", ON_GPU.render(lang, device=run.device)]
    if run.status != "completed":
        lines += ["#", STOPPED.render(lang, status=run.status, epoch=run.epoch or 0, epochs=spec.training.epochs)]
    return "\n".join(lines)


def python_file(spec: m.JobSpec, run: Run, lang: Lang, upload: dict[str, Any] | None = None) -> str:
    """The whole .py file."""
    parts = list(sections(spec, run, lang, upload))
    body = "\n\n\n".join(part.code for part in parts)
    weights = WEIGHTS.render(lang, weights=f"{run.slug}.safetensors")
    pieces = [header(spec, run, lang, f"{run.slug}.py"), import_block(parts, body), body, weights]
    return "\n\n".join(pieces[:2]) + "\n\n" + "\n\n\n".join(pieces[2:]) + "\n"

"""/api/jobs/{id}/export/…: a run as a plain PyTorch .py file, as a notebook, and its trained weights (.safetensors).

Who may export: whoever may read the run (nndojo.api.access.ReadableJob). When: once it has ended. The code exists
for every ended run (it is the spec's: a stopped or failed run's code trains the whole spec); the weights exist where
the trainer itself ended the run (completed, diverged, cancelled, or stopped by a time limit), as they were then. A run
on an uploaded set exports code that reads the user's own CSV, described by the upload's entry (its columns and
classes, never its data); once the upload is deleted that is unknown, and the code is 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import ValidationError

from nndojo.api.access import ReadableJob
from nndojo.api.deps import ManagerDep, UploadsDep
from nndojo.export.data import UploadGone
from nndojo.export.notebook import notebook_file
from nndojo.export.python import Run, python_file
from nndojo.jobs.manager import JobManager
from nndojo.jobs.store import FINAL_STATUSES
from nndojo.spec import JobSpec, SpecError

router = APIRouter(prefix="/api/jobs", tags=["export"])

Lang = Annotated[Literal["en", "ja"], Query(description="the language of the code's comments and the notebook's headings")]
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no job with this id, or not one the caller may see; for weights also: the run kept none"},
    409: {"description": "the run has not ended yet (detail.code `run_not_finished`), or its uploaded set was deleted (`upload_deleted`)"},
}


def ended(job: dict[str, Any]) -> Run:
    """The run, if it has ended; a 409 while it is queued, running or paused."""
    if job["status"] not in FINAL_STATUSES:
        raise HTTPException(
            409,
            {
                "msg": f"the run is {job['status']}: it can be exported once it has finished or been stopped",
                "code": "run_not_finished",
                "status": job["status"],
            },
        )
    return Run.of(job)


def code_of(job: dict[str, Any], uploads: UploadsDep, make: Callable[..., str], run: Run, lang: str) -> str:
    """The exported code; a run on an upload that is gone cannot say how to read its file, nor one whose stored spec
    this version no longer reads: 409."""
    try:
        spec = JobSpec.model_validate(job["spec"])
        return make(spec, run, lang, uploads.get(spec.dataset.name))
    except (ValidationError, SpecError) as exc:
        raise HTTPException(409, {"msg": f"this run's spec cannot be exported by this version of the server: {exc}", "code": "spec_outdated"}) from exc
    except UploadGone as exc:
        raise HTTPException(
            409,
            {"msg": "the uploaded data set this run trained on has been deleted, so its code cannot be written", "code": "upload_deleted"},
        ) from exc


def attachment(body: str | bytes, media_type: str, filename: str) -> Response:
    """A download: the browser saves it under `filename` (ASCII letters, digits, -, _ and a dot: safe unquoted)."""
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def ended_run(job: dict[str, Any], manager: JobManager) -> Run:
    """The ended run with its live learning-rate changes, which the exported loop repeats."""
    run = ended(job)
    return replace(run, lr_changes=tuple(await manager.lr_changes(run.id)))


@router.get("/{job_id}/export/python", responses={200: {"content": {"text/x-python": {}}}, **RESPONSES})
async def export_python(job: ReadableJob, manager: ManagerDep, uploads: UploadsDep, lang: Lang = "en") -> Response:
    """One self-contained .py file: the data, the model as a plain torch.nn.Module, the optimiser, loss and schedule,
    and a loop that prints each epoch's train and test loss (and accuracy); on the CPU it reproduces the run's numbers."""
    run = await ended_run(job, manager)
    return attachment(code_of(job, uploads, python_file, run, lang), "text/x-python; charset=utf-8", f"{run.slug}.py")


@router.get("/{job_id}/export/notebook", responses={200: {"content": {"application/x-ipynb+json": {}}}, **RESPONSES})
async def export_notebook(job: ReadableJob, manager: ManagerDep, uploads: UploadsDep, lang: Lang = "en") -> Response:
    """The same as a Jupyter notebook (nbformat 4): setup, the data with a plot, the model, training, the loss curve."""
    run = await ended_run(job, manager)
    return attachment(code_of(job, uploads, notebook_file, run, lang), "application/x-ipynb+json; charset=utf-8", f"{run.slug}.ipynb")


@router.get("/{job_id}/export/weights", responses={200: {"content": {"application/octet-stream": {}}}, **RESPONSES})
async def export_weights(job: ReadableJob, manager: ManagerDep) -> Response:
    """The trained weights as a .safetensors file, named as the exported module's state_dict (load_state_dict takes it)."""
    run = ended(job)
    data = await manager.weights(run.id)
    if data is None:
        raise HTTPException(
            404,
            {
                "msg": "this run kept no weights: it failed before its training ended, or ran before this server kept weights",
                "code": "no_weights",
            },
        )
    return attachment(data, "application/octet-stream", f"{run.slug}.safetensors")

"""One registry per layer type: the check, the builder and the summary agree on every type, and the summary says what
the job list said before the registry (jobs.manager.summary_settings)."""

from __future__ import annotations

from typing import Any

import pytest

from nndojo.nn.build import MODULES, build_model
from nndojo.spec import JobSpec, check_spec, summary
from nndojo.spec.layers import KINDS
from nndojo.spec.models import LAYER_MODELS

LENET: dict[str, Any] = {
    "device": "cpu",
    "dataset": {"name": "digits"},
    "model": {
        "layers": [
            {"type": "conv2d", "filters": 6, "kernel_size": 5, "padding": 2, "activation": "relu"},
            {"type": "lrn"},
            {"type": "maxpool2d"},
            {"type": "batchnorm"},
            {"type": "conv2d", "filters": 16, "kernel_size": 3, "activation": "tanh"},
            {"type": "avgpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 8, "activation": "relu"},
            {"type": "dropout", "p": 0.5},
            {"type": "batchnorm"},
        ],
        "output": {"activation": "softmax"},
    },
    "training": {"epochs": 3, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.001}},
}


def test_every_layer_model_has_one_kind_and_one_module_factory() -> None:
    assert {kind.model for kind in KINDS.values()} == set(LAYER_MODELS)
    assert set(MODULES) == set(KINDS)
    for name, kind in KINDS.items():
        assert kind.model.model_fields["type"].default == name


def test_the_summary_is_what_the_job_list_showed() -> None:
    spec = JobSpec.model_validate(LENET).model_dump()
    assert summary(spec) == {
        "dataset": "digits",
        "layers": [
            "conv2d 6x5 relu",
            "lrn",
            "maxpool2d",
            "batchnorm",
            "conv2d 16x3 tanh",
            "avgpool2d",
            "flatten",
            "dense 8 relu",
            "dropout 0.5",
            "batchnorm",
        ],
        "output": "softmax",
        "loss": "cross_entropy",
        "optimizer": "adam",
        "lr": 0.001,
        "batch_size": 32,
        "epochs": 3,
        "device": "cpu",
    }


def test_the_builder_gives_the_parameters_and_shapes_the_check_counts() -> None:
    import torch

    job = JobSpec.model_validate(LENET)
    report = check_spec(job)
    model = build_model(job, report)
    assert sum(p.numel() for p in model.parameters()) == report.n_params
    probed = [s.name for s in report.layers if s.index is None or KINDS[s.type].probed]
    assert [info.name for info in model.layer_infos] == probed
    z, outputs = model.forward_probe(torch.rand(4, 1, 8, 8))
    assert z.shape == (4, report.n_outputs)
    for shape in report.layers:
        if shape.name in outputs:
            assert tuple(outputs[shape.name].shape[1:]) == shape.out_shape, shape.name


@pytest.mark.parametrize("batch_size", [1, "full"])
def test_batchnorm_on_a_1x1_map_needs_two_samples_a_batch_as_on_a_vector(batch_size: int | str) -> None:
    """A batchnorm after a conv that leaves a 1x1 map normalises one value a channel a sample, like BatchNorm1d."""
    from nndojo.spec import SpecError

    body = {
        "dataset": {"name": "digits", "train_limit": 1 if batch_size == "full" else None},
        "model": {"layers": [{"type": "conv2d", "filters": 4, "kernel_size": 8}, {"type": "batchnorm"}, {"type": "flatten"}]},
        "training": {"batch_size": batch_size},
    }
    with pytest.raises(SpecError) as caught:
        check_spec(JobSpec.model_validate(body))
    assert caught.value.errors[0]["ctx"]["code"] == "batchnorm_batch"


def test_the_trainer_merges_a_trailing_single_sample_for_batchnorm_on_a_1x1_map() -> None:
    """5 samples in batches of 2 leave one: torch's BatchNorm2d on a 1x1 map cannot train on it, so it joins the batch
    before (the check counts the batches the same way and lets the job through)."""
    import torch

    from nndojo.train import train

    torch.set_num_threads(1)
    body = {
        "device": "cpu",
        "dataset": {"name": "digits", "train_limit": 5},
        "model": {"layers": [{"type": "conv2d", "filters": 4, "kernel_size": 8}, {"type": "batchnorm"}, {"type": "flatten"}]},
        "training": {"epochs": 1, "batch_size": 2},
    }
    events: list[dict[str, Any]] = []
    assert train(JobSpec.model_validate(body), events.append, device="cpu", threads=1, eval_limit=32) == "completed"
    assert [e["step"] for e in events if e["type"] == "epoch"] == [0, 2]

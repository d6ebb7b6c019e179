"""The job spec of shared/API.md as pydantic v2 models: the one source of truth for what may be chosen.

The field bounds here are the API's hard limits; a server may lower them (see `Limits` and `check_spec`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidatorFunctionWrapHandler, field_validator
from pydantic_core import PydanticCustomError

from nndojo.datasets.info import DATASETS, FEATURES
from nndojo.datasets.upload import NAME_MAX, NAME_PATTERN

HiddenActivation = Literal["step", "sigmoid", "relu", "tanh", "leaky_relu", "identity"]
OutputActivation = Literal["softmax", "sigmoid", "identity"]
Init = Literal["default", "zeros", "normal", "xavier", "he"]
LossName = Literal["cross_entropy", "mse"]
DatasetName = Literal["circle", "xor", "gauss", "spiral", "moons", "reg-plane", "reg-gauss", "digits", "fashion-mnist", "mnist"]
Feature = Literal["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"]
UploadName = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=NAME_MAX)]  # POST /api/datasets names them

assert set(DatasetName.__args__) == set(DATASETS), "dataset names and dataset info disagree"  # type: ignore[attr-defined]
assert set(Feature.__args__) == set(FEATURES)  # type: ignore[attr-defined]

MAX_LAYERS = 50
MAX_UNITS = 4096
MAX_FILTERS = 512
MAX_PARAMS = 10_000_000
MAX_EPOCHS = 10_000
MAX_SAMPLES = 100_000


class Strict(BaseModel):
    """Unknown fields are errors: a typo like `unit` must not be silently ignored. NaN, infinities and numbers beyond
    float range (JSON's 1e400 parses as infinity) are errors in every float field, naming it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# --- dataset -------------------------------------------------------------------------------------


class DatasetSpec(Strict):
    name: DatasetName | UploadName = Field("circle", description="a built-in set, or an uploaded one (upload-…)")
    n_samples: int = Field(500, ge=10, le=MAX_SAMPLES, description="points generated (2-D sets only)")
    noise: float = Field(0.0, ge=0.0, le=0.5, description="TensorFlow Playground's noise, 0 to 0.5 (2-D sets only)")
    test_fraction: float = Field(0.5, ge=0.1, le=0.9, description="share held out for testing (fixed split for MNIST-like sets)")
    features: list[Feature] = Field(default_factory=lambda: ["x1", "x2"], min_length=1, description="input features (2-D sets only)")
    train_limit: int | None = Field(None, ge=1, description="cap on training samples, to provoke overfitting")

    @field_validator("name", mode="wrap")
    @classmethod
    def _known_form(cls, name: Any, handler: ValidatorFunctionWrapHandler) -> str:
        """One error for a wrong name, listing the built-in sets as before (a plain union would give two). Whether an
        upload of that name exists, and is the caller's to use, the API checks."""
        if isinstance(name, str) and (name in DATASETS or (len(name) <= NAME_MAX and re.fullmatch(NAME_PATTERN, name))):
            return handler(name)
        expected = ", ".join(f"'{n}'" for n in DATASETS)
        raise PydanticCustomError("literal_error", "Input should be {expected}, or an uploaded set's name (upload-…)", {"expected": expected})

    @field_validator("features")
    @classmethod
    def _unique(cls, features: list[str]) -> list[str]:
        if len(set(features)) != len(features):
            raise ValueError("each feature may be listed once")
        return features


# --- layers --------------------------------------------------------------------------------------


class DenseLayer(Strict):
    type: Literal["dense"] = "dense"
    units: int = Field(8, ge=1, le=MAX_UNITS)
    activation: HiddenActivation = "relu"
    init: Init = "default"
    init_std: float = Field(0.01, gt=0.0, le=10.0, description="standard deviation for init 'normal'")
    bias: bool = True


class Conv2dLayer(Strict):
    type: Literal["conv2d"] = "conv2d"
    filters: int = Field(8, ge=1, le=MAX_FILTERS)
    kernel_size: int = Field(3, ge=1, le=15)
    stride: int = Field(1, ge=1, le=8)
    padding: int = Field(0, ge=0, le=7)
    activation: HiddenActivation = "relu"
    init: Init = "default"
    init_std: float = Field(0.01, gt=0.0, le=10.0, description="standard deviation for init 'normal'")


class MaxPool2dLayer(Strict):
    type: Literal["maxpool2d"] = "maxpool2d"
    kernel_size: int = Field(2, ge=1, le=15)
    stride: int | None = Field(None, ge=1, le=15, description="defaults to kernel_size")


class AvgPool2dLayer(Strict):
    type: Literal["avgpool2d"] = "avgpool2d"
    kernel_size: int = Field(2, ge=1, le=15)
    stride: int | None = Field(None, ge=1, le=15, description="defaults to kernel_size")


class FlattenLayer(Strict):
    type: Literal["flatten"] = "flatten"


class DropoutLayer(Strict):
    type: Literal["dropout"] = "dropout"
    p: float = Field(0.5, ge=0.0, lt=1.0, description="share of units dropped while training")


class BatchNormLayer(Strict):
    type: Literal["batchnorm"] = "batchnorm"


class ActivationLayer(Strict):
    """A hidden activation on its own, so that it can follow a batchnorm: the textbook's Affine → BatchNorm → ReLU."""

    type: Literal["activation"] = "activation"
    activation: HiddenActivation = "relu"


class LRNLayer(Strict):
    """AlexNet's local response normalisation across channels."""

    type: Literal["lrn"] = "lrn"
    size: int = Field(5, ge=1, le=15)
    alpha: float = Field(1e-4, ge=0.0, le=1.0)
    beta: float = Field(0.75, ge=0.0, le=5.0)
    k: float = Field(2.0, ge=0.0, le=10.0)


Layer = Annotated[
    DenseLayer
    | Conv2dLayer
    | MaxPool2dLayer
    | AvgPool2dLayer
    | FlattenLayer
    | DropoutLayer
    | BatchNormLayer
    | ActivationLayer
    | LRNLayer,
    Field(discriminator="type"),
]
LAYER_MODELS: tuple[type[Strict], ...] = (
    DenseLayer,
    Conv2dLayer,
    MaxPool2dLayer,
    AvgPool2dLayer,
    FlattenLayer,
    DropoutLayer,
    BatchNormLayer,
    ActivationLayer,
    LRNLayer,
)


class OutputSpec(Strict):
    activation: OutputActivation = "softmax"
    init: Init = "default"
    init_std: float = Field(0.01, gt=0.0, le=10.0, description="standard deviation for init 'normal'")


class ModelSpec(Strict):
    layers: list[Layer] = Field(default_factory=lambda: [DenseLayer(units=8, activation="tanh")], max_length=MAX_LAYERS)
    output: OutputSpec = Field(default_factory=OutputSpec)


# --- optimisers ----------------------------------------------------------------------------------


class SGD(Strict):
    name: Literal["sgd"] = "sgd"
    lr: float = Field(0.01, gt=0.0, le=100.0)


class Momentum(Strict):
    name: Literal["momentum"] = "momentum"
    lr: float = Field(0.01, gt=0.0, le=100.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)


class Nesterov(Strict):
    name: Literal["nesterov"] = "nesterov"
    lr: float = Field(0.01, gt=0.0, le=100.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)


class AdaGrad(Strict):
    name: Literal["adagrad"] = "adagrad"
    lr: float = Field(0.01, gt=0.0, le=100.0)
    eps: float = Field(1e-7, gt=0.0, le=1.0)


class Adadelta(Strict):
    name: Literal["adadelta"] = "adadelta"
    lr: float = Field(1.0, gt=0.0, le=100.0)
    rho: float = Field(0.95, ge=0.0, lt=1.0)
    eps: float = Field(1e-6, gt=0.0, le=1.0)


class RMSProp(Strict):
    name: Literal["rmsprop"] = "rmsprop"
    lr: float = Field(0.01, gt=0.0, le=100.0)
    rho: float = Field(0.99, ge=0.0, lt=1.0)
    eps: float = Field(1e-7, gt=0.0, le=1.0)


class Adam(Strict):
    name: Literal["adam"] = "adam"
    lr: float = Field(0.001, gt=0.0, le=100.0)
    beta1: float = Field(0.9, ge=0.0, lt=1.0)
    beta2: float = Field(0.999, ge=0.0, lt=1.0)
    eps: float = Field(1e-8, gt=0.0, le=1.0)


Optimizer = Annotated[SGD | Momentum | Nesterov | AdaGrad | Adadelta | RMSProp | Adam, Field(discriminator="name")]
OPTIMIZER_MODELS: tuple[type[Strict], ...] = (SGD, Momentum, Nesterov, AdaGrad, Adadelta, RMSProp, Adam)


# --- learning-rate schedules ---------------------------------------------------------------------


class StepSchedule(Strict):
    name: Literal["step"] = "step"
    step_size: int = Field(30, ge=1, le=MAX_EPOCHS, description="epochs between drops")
    gamma: float = Field(0.1, gt=0.0, le=1.0)


class ExponentialSchedule(Strict):
    name: Literal["exponential"] = "exponential"
    gamma: float = Field(0.95, gt=0.0, le=1.0)


class CosineSchedule(Strict):
    name: Literal["cosine"] = "cosine"


Schedule = Annotated[StepSchedule | ExponentialSchedule | CosineSchedule, Field(discriminator="name")]
SCHEDULE_MODELS: tuple[type[Strict], ...] = (StepSchedule, ExponentialSchedule, CosineSchedule)


class TrainingSpec(Strict):
    epochs: int = Field(100, ge=1, le=MAX_EPOCHS)
    batch_size: int | Literal["full"] = Field(10, description="1 is online SGD, 'full' is batch gradient descent")
    loss: LossName = "cross_entropy"
    optimizer: Optimizer = Field(default_factory=SGD)
    l1: float = Field(0.0, ge=0.0, le=10.0, description="λ₁ in λ₁Σ|W|, on weights only")
    l2: float = Field(0.0, ge=0.0, le=10.0, description="λ₂ in ½λ₂Σ‖W‖², on weights only")
    lr_schedule: Schedule | None = None

    @field_validator("batch_size")
    @classmethod
    def _positive_batch(cls, batch_size: int | str) -> int | str:
        if isinstance(batch_size, int) and not 1 <= batch_size <= MAX_SAMPLES:
            raise ValueError(f"batch_size must be 'full' or an integer from 1 to {MAX_SAMPLES}")
        return batch_size


class ProbeSpec(Strict):
    histogram_bins: int = Field(30, ge=5, le=100)
    boundary_resolution: int = Field(50, ge=10, le=200)
    unit_resolution: int = Field(
        20, ge=5, le=40, description="grid points a side of each hidden unit's output map (`units`: 2-D sets, layers of at most 32 units)"
    )
    hist_range: float | None = Field(
        None,
        gt=0.0,
        le=10_000.0,
        description="R of the range [0, R] (ReLU) or [-R, R] that every hidden layer's unbounded activation histogram shares; "
        "null: the smallest of 1, 2, 5 × 10^k at least 4 × the probe batch inputs' RMS",
    )


class JobSpec(Strict):
    name: str = Field("", max_length=200)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    probes: ProbeSpec = Field(default_factory=ProbeSpec)

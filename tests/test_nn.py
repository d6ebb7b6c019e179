"""Model building: activations, initialisations, LRN, layer names, and backpropagation against numerical gradients."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nndojo.nn import LocalResponseNorm, Step, build_model, hidden_activation, init_layer
from nndojo.nn.build import count_params
from nndojo.spec.check import check_spec
from nndojo.spec.models import JobSpec
from nndojo.train.losses import make_loss

torch.set_num_threads(1)


def spec_of(layers: list[dict], dataset: str = "circle", output: str = "softmax", **extra) -> JobSpec:
    return JobSpec.model_validate({"dataset": {"name": dataset}, "model": {"layers": layers, "output": {"activation": output}}, **extra})


def test_step_is_heaviside_with_zero_gradient_not_none() -> None:
    x = torch.tensor([-2.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = Step()(x)
    assert y.tolist() == [0.0, 0.0, 1.0, 1.0]
    (y * torch.arange(4.0)).sum().backward()
    assert x.grad is not None and x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        ("sigmoid", 0.0, 0.5),
        ("relu", -1.0, 0.0),
        ("relu", 2.0, 2.0),
        ("tanh", 0.5, math.tanh(0.5)),
        ("leaky_relu", -2.0, -0.02),
        ("identity", -3.5, -3.5),
        ("step", 0.1, 1.0),
    ],
)
def test_hidden_activations(name: str, x: float, expected: float) -> None:
    assert hidden_activation(name)(torch.tensor([x])).item() == pytest.approx(expected)


def test_unknown_activation_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown hidden activation 'gelu'"):
        hidden_activation("gelu")


@pytest.mark.parametrize(("init", "std_of_fan_in"), [("xavier", lambda f: math.sqrt(1 / f)), ("he", lambda f: math.sqrt(2 / f))])
def test_xavier_and_he_use_the_textbook_std_and_zero_bias(init: str, std_of_fan_in) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(400, 300)
    init_layer(layer, init)
    assert layer.weight.std().item() == pytest.approx(std_of_fan_in(400), rel=0.02)
    assert layer.weight.mean().item() == pytest.approx(0.0, abs=0.01 * std_of_fan_in(400))
    assert torch.count_nonzero(layer.bias) == 0
    conv = nn.Conv2d(8, 64, 3)
    init_layer(conv, init)
    assert conv.weight.std().item() == pytest.approx(std_of_fan_in(8 * 9), rel=0.05)  # fan_in of a conv: channels · k · k


def test_normal_zeros_and_default_init() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(500, 200)
    init_layer(layer, "normal", 0.3)
    assert layer.weight.std().item() == pytest.approx(0.3, rel=0.02)
    assert torch.count_nonzero(layer.bias) == 0
    init_layer(layer, "zeros")
    assert torch.count_nonzero(layer.weight) == 0
    default = nn.Linear(500, 200)
    before = default.weight.clone(), default.bias.clone()
    init_layer(default, "default")  # PyTorch's own: uniform ±1/√fan_in, biases included
    assert torch.equal(default.weight, before[0]) and torch.equal(default.bias, before[1])
    assert torch.count_nonzero(default.bias) > 0
    assert default.weight.abs().max().item() <= 1 / math.sqrt(500)


def test_lrn_is_alexnets_formula_with_alpha_on_the_sum() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 7, 3, 3, dtype=torch.float64) * 5
    size, alpha, beta, k = 5, 1e-2, 0.75, 2.0
    got = LocalResponseNorm(size, alpha, beta, k)(x)
    expected = torch.empty_like(x)
    channels = x.shape[1]
    for c in range(channels):
        lo, hi = max(0, c - size // 2), min(channels - 1, c + size // 2)
        expected[:, c] = x[:, c] / (k + alpha * (x[:, lo : hi + 1] ** 2).sum(dim=1)) ** beta
    torch.testing.assert_close(got, expected)
    torch_style = nn.LocalResponseNorm(size, alpha, beta, k)(x)  # torch divides alpha by size: a different layer
    assert not torch.allclose(torch_style, expected)


def test_layer_names_params_and_shapes_follow_the_shape_report() -> None:
    spec = spec_of(
        [
            {"type": "conv2d", "filters": 6, "kernel_size": 5, "padding": 2, "activation": "relu"},
            {"type": "batchnorm"},
            {"type": "lrn"},
            {"type": "maxpool2d"},
            {"type": "conv2d", "filters": 16, "kernel_size": 3, "padding": 1},
            {"type": "avgpool2d"},
            {"type": "flatten"},
            {"type": "dense", "units": 32, "activation": "tanh"},
            {"type": "batchnorm"},
            {"type": "dropout", "p": 0.3},
            {"type": "dense", "units": 16, "bias": False},
        ],
        dataset="digits",
    )
    report = check_spec(spec)
    model = build_model(spec, report)
    assert [info.name for info in model.layer_infos] == [
        "conv2d_1",
        "batchnorm_1",
        "conv2d_2",
        "dense_1",
        "batchnorm_2",
        "dense_2",
        "output",
    ]
    assert count_params(model) == report.n_params
    assert isinstance(model.layer_modules()[1], nn.BatchNorm2d) and isinstance(model.layer_modules()[4], nn.BatchNorm1d)
    z, outputs = model.forward_probe(torch.rand(5, 1, 8, 8))
    assert z.shape == (5, 10)
    for shape in report.layers:
        if shape.name in outputs:
            assert tuple(outputs[shape.name].shape[1:]) == shape.out_shape
    assert torch.allclose(outputs["output"].sum(dim=1), torch.ones(5))  # softmax
    assert len(model.weights()) == 5  # conv, conv, dense, dense, output: no batchnorm, no biases


def test_dropout_is_off_in_eval_mode() -> None:
    torch.manual_seed(0)
    model = build_model(spec_of([{"type": "dense", "units": 64}, {"type": "dropout", "p": 0.5}]))
    x = torch.randn(32, 2)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    ("output", "loss", "dataset"),
    [
        ("softmax", "cross_entropy", "circle"),
        ("sigmoid", "cross_entropy", "circle"),
        ("identity", "mse", "circle"),
        ("sigmoid", "mse", "digits"),
        ("sigmoid", "cross_entropy", "digits"),
        ("identity", "mse", "reg-gauss"),
    ],
)
def test_backprop_matches_central_differences(output: str, loss: str, dataset: str) -> None:
    """Every parameter's gradient from autograd equals (L(θ+h) − L(θ−h)) / 2h in float64."""
    torch.manual_seed(0)
    flat = dataset != "digits"
    layers = (
        [{"type": "dense", "units": 5, "activation": "tanh"}, {"type": "dense", "units": 4, "activation": "sigmoid"}]
        if flat
        else [{"type": "conv2d", "filters": 2, "kernel_size": 3, "activation": "tanh"}, {"type": "avgpool2d"}, {"type": "flatten"}]
    )
    training = {"training": {"loss": loss}}
    spec = spec_of([*layers, {"type": "dense", "units": 3, "activation": "leaky_relu"}], dataset=dataset, output=output, **training)
    report = check_spec(spec)
    model = build_model(spec, report).double()
    task = "regression" if dataset.startswith("reg") else "classification"
    loss_fn = make_loss(loss, output, task, report.n_outputs)
    x = torch.randn(6, *report.input_shape, dtype=torch.float64)
    t = (
        torch.randn(6, dtype=torch.float64)
        if task == "regression"
        else torch.randint(0, report.n_outputs if report.n_outputs > 1 else 2, (6,))
    )
    loss_fn(model(x), t).backward()
    h = 1e-6
    with torch.no_grad():
        for p in model.parameters():
            flat_p, flat_g = p.view(-1), p.grad.view(-1)
            for i in range(flat_p.numel()):
                old = flat_p[i].item()
                flat_p[i] = old + h
                up = loss_fn(model(x), t).item()
                flat_p[i] = old - h
                down = loss_fn(model(x), t).item()
                flat_p[i] = old
                assert flat_g[i].item() == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)


def test_losses_follow_their_definitions() -> None:
    z = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0]])
    t = torch.tensor([0, 1, 1])
    probs = torch.softmax(z, dim=1)
    ce = make_loss("cross_entropy", "softmax", "classification", 2)(z, t)
    assert ce.item() == pytest.approx(-(probs[range(3), t].log()).mean().item())
    assert make_loss("cross_entropy", "identity", "classification", 2)(z, t).item() == pytest.approx(ce.item())  # logits
    mse = make_loss("mse", "softmax", "classification", 2)(z, t)
    onehot = torch.nn.functional.one_hot(t, 2).float()
    assert mse.item() == pytest.approx((0.5 * ((probs - onehot) ** 2).sum(dim=1)).mean().item())  # ½Σ(y−t)², batch mean
    z1 = torch.tensor([[0.3], [-2.0]])
    y1 = torch.sigmoid(z1[:, 0])
    t1 = torch.tensor([1, 0])
    bce = make_loss("cross_entropy", "sigmoid", "classification", 1)(z1, t1)
    assert bce.item() == pytest.approx(-(torch.log(y1[0]) + torch.log(1 - y1[1])).item() / 2)
    reg = make_loss("mse", "identity", "regression", 1)(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
    assert reg.item() == pytest.approx((0.5 * 1 + 0.5 * 4) / 2)


@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (2, 1), (3, 3), (3, 2), (1, 1), (1, 2), (4, 4), (5, 2)])
def test_max_pooling_inference_path_equals_torchs_kernel(kernel: int, stride: int) -> None:
    """Probes evaluate without grad through the strided-maximum path; it must give max_pool2d's values, NaN included."""
    from nndojo.nn.pool import MaxPool2d

    torch.manual_seed(0)
    x = torch.randn(5, 3, 9, 7).relu()  # relu: ties at zero
    x[0, 0, 1, 1] = float("nan")
    pool = MaxPool2d(kernel, stride)
    with torch.no_grad():
        got = pool(x)
    expected = torch.nn.functional.max_pool2d(x, kernel, stride)
    assert got.shape == expected.shape
    assert torch.equal(got.nan_to_num(nan=-7.0), expected.nan_to_num(nan=-7.0))
    assert torch.equal(got.isnan(), expected.isnan())
    y = x.nan_to_num().requires_grad_()
    pool(y).sum().backward()  # training keeps torch's kernel: each window's whole gradient to one argmax, ties or not
    assert y.grad is not None and y.grad.sum() == expected.numel() and set(y.grad.unique().tolist()) <= set(range(kernel * kernel + 1))

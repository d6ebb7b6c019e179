"""The training part of an exported run: loss, optimiser, schedule, penalties and the loop, as nndojo.train.loop runs them.

What makes the numbers the same: the optimisers' textbook forms (nndojo.train.optimizers), the same shuffling
generator drawn in the same order (first the fixed sample the server measures training metrics on, then one
permutation an epoch, none for a single full batch), the same batches (nndojo.spec.batches), the penalties added to
the gradient after backward, and metrics measured with dropout off and batch normalisation on its running averages.
"""

from __future__ import annotations

import math

from nndojo.datasets.info import dataset_info, train_test_sizes
from nndojo.export.data import Part
from nndojo.export.model import penalised_weights, shape_report
from nndojo.export.snippet import Lang, Snippet
from nndojo.spec import models as m
from nndojo.spec.batches import batch_bounds
from nndojo.spec.check import output_units
from nndojo.spec.memory import TRAIN_EVAL_CAP

CROSS_ENTROPY = Snippet(
    """
    def loss_fn(z, t):
        # cross-entropy of softmax(z) and the true classes, averaged over the batch (from z itself: more precise)
        return F.cross_entropy(z, t)
    """
)
BINARY_CROSS_ENTROPY = Snippet(
    """
    def loss_fn(z, t):
        # binary cross-entropy of sigmoid(z) against the class, 0 or 1, averaged over the batch
        return F.binary_cross_entropy_with_logits(z[:, 0], t.to(z.dtype))
    """
)
UNITS_CROSS_ENTROPY = Snippet(
    """
    def loss_fn(z, t):
        # binary cross-entropy of each sigmoid unit against the one-hot class: summed over units, averaged over the batch
        return F.binary_cross_entropy_with_logits(z, F.one_hot(t, $n).to(z.dtype), reduction="sum") / z.shape[0]
    """
)
SQUARES = Snippet(
    """
    def output(z):
        # the output layer's activation: $activation
        return $activated


    def loss_fn(z, t):
        # sum of squares: ½Σ(y − t)² over the output units, averaged over the batch
        return 0.5 * ($difference).square().sum() / z.shape[0]
    """
)
OUTPUTS = {"softmax": "torch.softmax(z, dim=1)", "sigmoid": "torch.sigmoid(z)", "identity": "z"}

ONE_UNIT = Snippet(
    """
    def predicted_class(z):
        # one sigmoid unit: class 1 where sigmoid(z) > 0.5, that is where z > 0
        return (z[:, 0] > 0).long()
    """
)
ARGMAX = Snippet(
    """
    def predicted_class(z):
        # the class with the largest output
        return z.argmax(dim=1)
    """
)

EVALUATE = Snippet(
    """
    @torch.no_grad()
    def evaluate(x, y):
        # the loss and, for classes, the accuracy on a whole set, with dropout off and batch normalisation on its running averages
        model.eval()
        z = torch.cat([model(x[i : i + 1000]) for i in range(0, len(x), 1000)])
        model.train()
        return $returned
    """
)

SGD = Snippet("optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, foreach=True)  # W ← W − ηg")
MOMENTUM = Snippet(
    """
    class Momentum(torch.optim.Optimizer):
        # the textbook's momentum: v ← αv − ηg, then W ← W + v
        # (torch's SGD(momentum=...) keeps v ← αv + g and steps W ← W − ηv: not the same once η changes)
        def __init__(self, params, lr, momentum):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, alpha = group["lr"], group["momentum"]
                for w in group["params"]:
                    v = self.state[w].setdefault("velocity", torch.zeros_like(w))
                    v.mul_(alpha).add_(w.grad, alpha=-lr)
                    w.add_(v)


    optimizer = Momentum(model.parameters(), lr=LEARNING_RATE, momentum=$momentum)
    """
)
NESTEROV = Snippet(
    """
    class Nesterov(torch.optim.Optimizer):
        # Nesterov's momentum in the textbook's form: v ← αv − ηg, then W ← W + αv − ηg
        def __init__(self, params, lr, momentum):
            super().__init__(params, {"lr": lr, "momentum": momentum})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, alpha = group["lr"], group["momentum"]
                for w in group["params"]:
                    v = self.state[w].setdefault("velocity", torch.zeros_like(w))
                    v.mul_(alpha).add_(w.grad, alpha=-lr)
                    w.add_(v, alpha=alpha).add_(w.grad, alpha=-lr)


    optimizer = Nesterov(model.parameters(), lr=LEARNING_RATE, momentum=$momentum)
    """
)
ADAGRAD = Snippet(
    """
    # AdaGrad: h ← h + g², W ← W − ηg/(√h + ε)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=LEARNING_RATE, eps=$eps, foreach=True)
    """
)
ADADELTA = Snippet(
    """
    # Adadelta (Zeiler's rule; η scales its step, η = 1 is the paper's)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=LEARNING_RATE, rho=$rho, eps=$eps, foreach=True)
    """
)
RMSPROP = Snippet(
    """
    # RMSProp: h ← ρh + (1 − ρ)g², W ← W − ηg/(√h + ε)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=LEARNING_RATE, alpha=$rho, eps=$eps, foreach=True)
    """
)
ADAM = Snippet(
    """
    # Adam: moving averages of g and g², corrected for their start at zero
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=($beta1, $beta2), eps=$eps, foreach=True)
    """
)

SCHEDULES = {
    "step": Snippet(
        """
        def learning_rate(epoch):
            # step schedule: multiplied by $gamma every $step_size epochs
            return $base * $gamma ** ((epoch - 1) // $step_size)
        """
    ),
    "exponential": Snippet(
        """
        def learning_rate(epoch):
            # exponential schedule: multiplied by $gamma every epoch
            return $base * $gamma ** (epoch - 1)
        """
    ),
    "cosine": Snippet(
        """
        def learning_rate(epoch):
            # cosine schedule: from the starting rate down towards 0 along half a cosine wave
            return $base * (1.0 + math.cos(math.pi * (epoch - 1) / EPOCHS)) / 2.0
        """
    ),
}

CONSTANT = Snippet(
    """
    def learning_rate(epoch):
        # no schedule: the rate stays as it was last set
        return base_lr
    """
)
LIVE = Snippet(
    """
    # the run's learning rate was changed while it trained (live control): before optimiser step s it became r, for
    # each (s, r) here; the schedule then goes on from the new rate
    LR_CHANGES = $changes
    base_lr = LEARNING_RATE  # the rate the schedule starts from
    step = 0  # optimiser steps taken so far
    """
)
APPLY = Snippet(
    """
    for changed_at, rate in LR_CHANGES:
        if changed_at == step:
            scheduled = learning_rate(epoch)
            rebased = base_lr * rate / scheduled if scheduled > 0 else math.inf
            base_lr = rebased if math.isfinite(rebased) and rebased > 0 else rate
            for group in optimizer.param_groups:
                group["lr"] = rate
    """
)

PENALISED = Snippet(
    """
    # the weights L1 and L2 apply to: dense, conv and output weights; not biases, not batch normalisation
    penalised = [$weights]
    """
)
L2_LINE = Snippet("w.grad.add_(w, alpha=$l2)  # L2: the gradient of ½λ‖W‖² is λW")
L1_LINE = Snippet("w.grad.add_(w.sign(), alpha=$l1)  # L1: the gradient of λ|W| is λ·sign(W)")
PENALTIES = Snippet(
    """
    with torch.no_grad():
        for w in penalised:
    $lines
    """
)

LOOP = Snippet(
    """
    shuffle = torch.Generator().manual_seed(SEED)  # the order of the samples in each epoch
    # the training samples the loss and accuracy are measured on (up to 10,000, drawn once, as on the server)
    measured = torch.randperm(len(x_train), generator=shuffle)[:$cap]$batches
    history = []


    def report(epoch):
        # measure, print and remember an epoch's numbers; False once the loss is no longer a finite number
        train_loss, train_accuracy = evaluate(x_train[measured], y_train[measured])
        test_loss, test_accuracy = evaluate(x_test, y_test)
        history.append({"epoch": epoch, "train_loss": train_loss, "test_loss": test_loss, "train_accuracy": train_accuracy, "test_accuracy": test_accuracy})
        print(f"epoch {epoch:4d}  train loss {train_loss:.6g}$train_accuracy  test loss {test_loss:.6g}$test_accuracy")
        return math.isfinite(train_loss) and math.isfinite(test_loss)


    model.train()
    if report(0):  # epoch 0: before any training
        for epoch in range(1, EPOCHS + 1):
    $epoch
            if not report(epoch):
                print("the loss is no longer a finite number: training diverged")
                break
    """
)
BATCHES = Snippet(
    """
    # [start, stop) of each batch of an epoch
    batches = [(start, min(start + $size, len(x_train))) for start in range(0, len(x_train), $size)]
    """
)
MERGED = Snippet("batches[-2:] = [(batches[-2][0], len(x_train))]  # batch normalisation cannot take a batch of one sample: the last one joins the batch before it")
SET_LR = Snippet(
    """
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(epoch)
    """
)
MINI_BATCHES = Snippet(
    """
    order = torch.randperm(len(x_train), generator=shuffle)  # a new order every epoch
    for start, stop in batches:$before
        idx = order[start:stop]
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        optimizer.zero_grad()
        loss.backward()$penalties
        optimizer.step()$after
    """
)
FULL_BATCH = Snippet(
    """
    # one batch of every training sample: nothing to shuffle$before
    loss = loss_fn(model(x_train), y_train)
    optimizer.zero_grad()
    loss.backward()$penalties
    optimizer.step()$after
    """
)


def _indent(code: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line else line for line in code.splitlines())


def _loss(spec: m.JobSpec, lang: Lang, n_out: int) -> str:
    task = dataset_info(spec.dataset.name).task
    activation = spec.model.output.activation
    if spec.training.loss == "cross_entropy":
        if activation != "sigmoid":
            return CROSS_ENTROPY.render(lang)
        return BINARY_CROSS_ENTROPY.render(lang) if n_out == 1 else UNITS_CROSS_ENTROPY.render(lang, n=n_out)
    if task == "regression":
        difference = "output(z)[:, 0] - t"
    elif n_out == 1:
        difference = "output(z)[:, 0] - t.to(z.dtype)"
    else:
        difference = f"output(z) - F.one_hot(t, {n_out}).to(z.dtype)"
    return SQUARES.render(lang, activation=activation, activated=OUTPUTS[activation], difference=difference)


OPTIMIZERS = {"sgd": SGD, "momentum": MOMENTUM, "nesterov": NESTEROV, "adagrad": ADAGRAD, "adadelta": ADADELTA, "rmsprop": RMSPROP, "adam": ADAM}
assert set(OPTIMIZERS) == {model.model_fields["name"].default for model in m.OPTIMIZER_MODELS}, "every optimiser has its exported code"
assert set(SCHEDULES) == {model.model_fields["name"].default for model in m.SCHEDULE_MODELS}, "every schedule has its exported code"


def _optimizer(opt: m.Optimizer, lang: Lang) -> str:
    """The optimiser's code, its hyper-parameters (all but lr, which LEARNING_RATE holds) filled in."""
    return OPTIMIZERS[opt.name].render(lang, **{key: repr(value) for key, value in opt.model_dump().items() if key not in ("name", "lr")})


def _epoch(spec: m.JobSpec, lang: Lang, bounds: list[tuple[int, int]], live: bool) -> str:
    tr = spec.training
    lines = []
    if tr.l2:
        lines.append(L2_LINE.render(lang, l2=repr(tr.l2)))
    if tr.l1:
        lines.append(L1_LINE.render(lang, l1=repr(tr.l1)))
    full = len(bounds) == 1
    inner = 0 if full else 4
    penalties = "\n" + _indent(PENALTIES.render(lang, lines=_indent("\n".join(lines), 8)), inner) if lines else ""
    before = "\n" + _indent(APPLY.render(lang), inner) if live else ""
    after = "\n" + _indent("step += 1", inner) if live else ""
    step = (FULL_BATCH if full else MINI_BATCHES).render(lang, penalties=penalties, before=before, after=after)
    parts = ([SET_LR.render(lang)] if tr.lr_schedule is not None or live else []) + [step]
    return _indent("\n".join(parts), 8)


def _batches(lang: Lang, bounds: list[tuple[int, int]]) -> str:
    """The code for the epoch's batches (none for one full batch), as spec.batches.batch_bounds makes them."""
    if len(bounds) == 1:
        return ""
    code = "\n" + BATCHES.render(lang, size=bounds[0][1])
    last = bounds[-1]
    if last[1] - last[0] > bounds[0][1]:  # merge_single joined a lone last sample to the batch before it
        code += "\n" + MERGED.render(lang)
    return code


def training_part(spec: m.JobSpec, lang: Lang, lr_changes: tuple[tuple[int, float], ...] = ()) -> Part:
    """Loss, optimiser, schedule and the loop that prints each epoch's train and test loss (and accuracy); lr_changes:
    the run's live learning-rate changes, (steps taken before it, new rate), which the loop repeats."""
    report = shape_report(spec)
    tr = spec.training
    task = dataset_info(spec.dataset.name).task
    n_out = output_units(spec)
    n_train, _ = train_test_sizes(spec.dataset.name, spec.dataset.n_samples, spec.dataset.test_fraction, spec.dataset.train_limit)
    merge_single = any(s.type == "batchnorm" and math.prod(s.in_shape[1:]) == 1 for s in report.layers)
    bounds = batch_bounds(n_train, tr.batch_size, merge_single)
    pieces = [_loss(spec, lang, n_out)]
    classify = task == "classification"
    if classify:
        pieces.append((ONE_UNIT if n_out == 1 else ARGMAX).render(lang))
        pieces.append(EVALUATE.render(lang, returned="loss_fn(z, y).item(), (predicted_class(z) == y).float().mean().item()"))
    else:
        pieces.append(EVALUATE.render(lang, returned="loss_fn(z, y).item(), None"))
    pieces.append(_optimizer(tr.optimizer, lang))
    live = bool(lr_changes)
    if tr.lr_schedule is not None:
        schedule = tr.lr_schedule.model_dump()
        values = {key: repr(value) for key, value in schedule.items() if key != "name"}
        pieces.append(SCHEDULES[schedule["name"]].render(lang, base="base_lr" if live else "LEARNING_RATE", **values))
    elif live:
        pieces.append(CONSTANT.render(lang))
    if live:
        pieces.append(LIVE.render(lang, changes=repr([(int(at), float(rate)) for at, rate in lr_changes])))
    if tr.l1 or tr.l2:
        pieces.append(PENALISED.render(lang, weights=", ".join(penalised_weights(spec))))
    loop = LOOP.render(
        lang,
        cap=f"{TRAIN_EVAL_CAP:_}",
        batches=_batches(lang, bounds),
        train_accuracy="  accuracy {train_accuracy:.6g}" if classify else "",
        test_accuracy="  accuracy {test_accuracy:.6g}" if classify else "",
        epoch=_epoch(spec, lang, bounds, live),
    )
    pieces.append(loop)
    return Part(("import math", "import torch", "import torch.nn.functional as F"), "\n\n\n".join(pieces))

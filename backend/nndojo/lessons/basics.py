"""Chapters 3–5 on the 2-D sets: the step function against its sigmoid twin, the output layer and loss pairing, and
vanishing gradients by depth (examples/06 and 07, the presets of the same names)."""

from __future__ import annotations

from nndojo.lessons.measures import acc_or_zero, hidden_layers, mean_grad, num, pct
from nndojo.lessons.model import Lesson, Rule, Runs, Variant, Verdict
from nndojo.lessons.presets import example
from nndojo.lessons.specs import FLATTEN, dense, fashion, job

# --- the step function (ch. 3) ----------------------------------------------------------------------------------------

SPIRAL = {"name": "spiral", "n_samples": 500, "noise": 0.05, "train_limit": 250}


def _twin(activation: str) -> dict:
    layers = [dense(16, activation, "xavier"), dense(16, activation, "xavier")]
    return job(f"spiral: {activation}", SPIRAL, layers, epochs=300, batch_size=10, optimizer={"name": "adam", "lr": 0.01})


def _step_frozen(runs: Runs) -> Verdict:
    run = runs["step"]
    first = {layer["name"]: layer["weight_norm"] for layer in hidden_layers(run.first)}
    last = {layer["name"]: layer["weight_norm"] for layer in hidden_layers(run.last)}
    moved = max(abs(last[name] - first[name]) for name in first)
    grads = max(max((v or 0.0) for v in run.layer_series("grad_norm", name)) for name in first)
    return Verdict(
        moved == 0 and grads == 0,
        f"step's hidden layers: largest gradient norm {num(grads)}, largest change of weight norm {num(moved)}",
        f"step の隠れ層: 勾配ノルムの最大 {num(grads)}、重みノルムの変化の最大 {num(moved)}",
        {"grad_norm": grads, "weight_change": moved},
    )


def _step_fails(runs: Runs) -> Verdict:
    step, sigmoid = acc_or_zero(runs["step"]), acc_or_zero(runs["sigmoid"])
    return Verdict(
        sigmoid - step > 0.15,
        f"test accuracy: step {pct(step)}, sigmoid {pct(sigmoid)}",
        f"テスト精度: step {pct(step)}、sigmoid {pct(sigmoid)}",
        {"step": step, "sigmoid": sigmoid},
    )


STEP_LESSON = Lesson(
    id="step",
    figure="3-8",
    title_en="The step function cannot learn",
    title_ja="ステップ関数では学習できない",
    text_en="Two spirals, two hidden layers of 16 units: once with the step function, once with its smooth twin, the "
    "sigmoid. The step's derivative is zero, so no gradient reaches its layers: only the output layer learns, on "
    "fixed random features.",
    text_ja="2本の渦巻き、16 ユニットの隠れ層2つ。ステップ関数と、その滑らかな双子であるシグモイドで学習します。ステップ関数の微分は 0 "
    "なので隠れ層には勾配が届かず、学習するのは固定されたランダムな特徴を受け取る出力層だけです。",
    expected_en="The step network's hidden weights never move and it stays far below the sigmoid network, which bends its "
    "boundary around the spirals.",
    expected_ja="ステップ関数のネットワークは隠れ層の重みがまったく動かず、渦に沿って境界を曲げるシグモイドのネットワークに大きく及びません。",
    minutes=0.25,
    charts=("test_accuracy", "boundary"),
    variants=(Variant("step", "step", "ステップ関数", _twin("step")), Variant("sigmoid", "sigmoid", "シグモイド", _twin("sigmoid"))),
    rules=(
        Rule(
            "step_frozen",
            "no gradient reaches the step layers: their weights never change",
            "ステップ関数の層に勾配は届かず、重みは変わらない",
            _step_frozen,
            ("step",),
        ),
        Rule(
            "step_fails",
            "sigmoid's test accuracy beats the step's by more than 15 points",
            "シグモイドのテスト精度がステップ関数を 15 ポイント超上回る",
            _step_fails,
            ("step", "sigmoid"),
        ),
    ),
)

# --- output layer and loss (ch. 4–5) ----------------------------------------------------------------------------------

LOSS_EPOCHS = 10


def _pairing(output: str, loss: str) -> dict:
    layers = [FLATTEN, dense(100, "relu")]
    return job(f"{output} + {loss}", fashion(3000), layers, epochs=LOSS_EPOCHS, batch_size=100, optimizer={"name": "sgd", "lr": 0.1},
               output={"activation": output, "init": "xavier"}, loss=loss)  # fmt: skip


def _ce_ahead(runs: Runs) -> Verdict:
    ce, mse = runs["softmax_ce"].series("test_accuracy"), runs["identity_mse"].series("test_accuracy")
    ahead = [a > b for a, b in zip(ce[1:], mse[1:], strict=False) if a is not None and b is not None]
    return Verdict(
        bool(ahead) and all(ahead),
        f"test accuracy after epoch 1: {pct(ce[1] if len(ce) > 1 else None)} against {pct(mse[1] if len(mse) > 1 else None)}; "
        f"after epoch {len(ce) - 1}: {pct(ce[-1])} against {pct(mse[-1])}",
        f"1 エポック後のテスト精度: {pct(ce[1] if len(ce) > 1 else None)} 対 {pct(mse[1] if len(mse) > 1 else None)}、"
        f"{len(ce) - 1} エポック後: {pct(ce[-1])} 対 {pct(mse[-1])}",
        {"ce_first": ce[1] if len(ce) > 1 else None, "mse_first": mse[1] if len(mse) > 1 else None, "ce_last": ce[-1], "mse_last": mse[-1]},
    )


LOSS_LESSON = Lesson(
    id="loss",
    figure="5-30",
    title_en="Softmax with cross-entropy against identity with squared error",
    title_ja="ソフトマックス+交差エントロピー 対 恒等関数+二乗和誤差",
    text_en="One hidden layer of 100 ReLU units on 3,000 Fashion-MNIST images, SGD 0.1: the output is softmax trained on "
    "cross-entropy, or the identity trained on the sum of squared errors against the one-hot labels.",
    text_ja="Fashion-MNIST 3,000 枚、ReLU 100 ユニットの隠れ層1つ、SGD 0.1。出力層をソフトマックス+交差エントロピーにするか、恒等関数+one-hot "
    "ラベルとの二乗和誤差にするかで比べます。",
    expected_en="Softmax with cross-entropy, whose gradient is simply y − t, classifies better at every epoch.",
    expected_ja="勾配がきれいに y − t となるソフトマックス+交差エントロピーの方が、どのエポックでもよく分類します。",
    minutes=0.25,
    charts=("test_accuracy",),
    variants=(
        Variant("softmax_ce", "softmax + cross-entropy", "ソフトマックス+交差エントロピー", _pairing("softmax", "cross_entropy")),
        Variant("identity_mse", "identity + squared error", "恒等関数+二乗和誤差", _pairing("identity", "mse")),
    ),
    rules=(
        Rule(
            "ce_ahead",
            "softmax + cross-entropy has the higher test accuracy at every epoch",
            "どのエポックでもソフトマックス+交差エントロピーのテスト精度が高い",
            _ce_ahead,
            ("softmax_ce", "identity_mse"),
        ),
    ),
)

# --- vanishing gradients by depth (examples/06 and 07) ----------------------------------------------------------------


def _ratio(runs: Runs, run_id: str) -> tuple[float, float, float]:
    """The first hidden layer's mean gradient norm over the last hidden layer's."""
    run = runs[run_id]
    names = [layer["name"] for layer in hidden_layers(run.first)]
    first, last = mean_grad(run, names[0]), mean_grad(run, names[-1])
    return first, last, (first / last if last else 0.0)


def _sigmoid_vanishes(runs: Runs) -> Verdict:
    first, last, ratio = _ratio(runs, "sigmoid")
    return Verdict(
        ratio < 1e-3,
        f"sigmoid: mean gradient norm, layer 1 {num(first)} against layer 8 {num(last)} (×{num(ratio)})",
        f"sigmoid: 勾配ノルムの平均、層1 {num(first)} 対 層8 {num(last)}(×{num(ratio)})",
        {"first": first, "last": last, "ratio": ratio},
    )


def _relu_carries(runs: Runs) -> Verdict:
    first, last, ratio = _ratio(runs, "relu_he")
    return Verdict(
        ratio > 0.1,
        f"ReLU + He: mean gradient norm, layer 1 {num(first)} against layer 8 {num(last)} (×{num(ratio)})",
        f"ReLU + He: 勾配ノルムの平均、層1 {num(first)} 対 層8 {num(last)}(×{num(ratio)})",
        {"first": first, "last": last, "ratio": ratio},
    )


def _accuracy(runs: Runs) -> Verdict:
    sigmoid, relu = acc_or_zero(runs["sigmoid"]), acc_or_zero(runs["relu_he"])
    return Verdict(
        sigmoid < 0.7 and relu > 0.9,
        f"test accuracy: sigmoid {pct(sigmoid)}, ReLU + He {pct(relu)}",
        f"テスト精度: sigmoid {pct(sigmoid)}、ReLU + He {pct(relu)}",
        {"sigmoid": sigmoid, "relu_he": relu},
    )


VANISHING_LESSON = Lesson(
    id="vanishing",
    figure="6-10",
    title_en="Vanishing gradients: 8 sigmoid layers against ReLU + He",
    title_ja="勾配消失: シグモイド8層 対 ReLU + He",
    text_en="The presets 'Vanishing gradients' and 'Same, ReLU + He' (examples/06 and 07): eight layers of 16 units on the "
    "circle, SGD, 100 epochs. σ′ ≤ 0.25, so each sigmoid layer passes back at most a quarter of the gradient.",
    text_ja="プリセット「勾配消失」と「同じ構造を ReLU + He で」(examples/06 と 07)。円のデータに 16 ユニットの層を8つ、SGD で 100 エポック。"
    "σ′ ≤ 0.25 なので、シグモイドの層は勾配を多くても 1/4 しか戻しません。",
    expected_en="In the sigmoid net the first layer's gradient is orders of magnitude below the last's and it stays near "
    "chance; with ReLU and He the gradient reaches the first layer and the circle is learned.",
    expected_ja="シグモイドのネットワークでは最初の層の勾配が最後の層より何桁も小さく、正解率は当て推量のままです。ReLU と He "
    "では勾配が最初の層まで届き、円を学習します。",
    minutes=0.25,
    charts=("grad_depth", "test_accuracy"),
    variants=(
        Variant("sigmoid", "sigmoid, Xavier", "シグモイド・Xavier", example("06-vanishing-sigmoid.json")),
        Variant("relu_he", "ReLU, He", "ReLU・He", example("07-vanishing-fixed-relu-he.json")),
    ),
    rules=(
        Rule(
            "sigmoid_vanishes",
            "sigmoid: the first layer's gradient is over 1,000× smaller than the last's",
            "sigmoid: 最初の層の勾配は最後の層の 1/1,000 未満",
            _sigmoid_vanishes,
            ("sigmoid",),
        ),
        Rule(
            "relu_carries",
            "ReLU + He: the first layer keeps over a tenth of the last's gradient",
            "ReLU + He: 最初の層に最後の層の 1/10 超の勾配が届く",
            _relu_carries,
            ("relu_he",),
        ),
        Rule(
            "accuracy",
            "sigmoid stays below 70% test accuracy, ReLU + He gets above 90%",
            "sigmoid はテスト精度 70% 未満、ReLU + He は 90% 超",
            _accuracy,
            ("sigmoid", "relu_he"),
        ),
    ),
)

LESSONS = (STEP_LESSON, LOSS_LESSON, VANISHING_LESSON)

"""Chapter 6 of 『ゼロから作るDeep Learning』 on Fashion-MNIST: optimisers, initial weights, batch norm, overfitting.

The networks and hyper-parameters are the book's (4 hidden layers of 100 ReLU units, batch 128, SGD at 0.01, ...);
train_limit and the epoch counts keep each lesson within about two minutes on a 2-core machine.
"""

from __future__ import annotations

from nndojo.lessons.measures import LN10, acc_or_zero, activation_stds, hidden_layers, loss_or_inf, num, pct
from nndojo.lessons.model import Decide, Lesson, Rule, Run, Runs, Variant, Verdict
from nndojo.lessons.specs import FLATTEN, dense, fashion, job

# --- optimisers (Fig 6-9) ---------------------------------------------------------------------------------------------

OPT_LIMIT, OPT_BATCH, OPT_EPOCHS = 6400, 128, 40  # 50 iterations an epoch: 2,000 iterations, the book's count
OPTIMIZERS = (("sgd", "SGD", 0.01), ("momentum", "Momentum", 0.01), ("adagrad", "AdaGrad", 0.01), ("adam", "Adam", 0.001))


def _mlp(activation: str, init: str = "he", std: float | None = None, depth: int = 4) -> list[dict]:
    return [FLATTEN, *(dense(100, activation, init, std) for _ in range(depth))]


def _sgd_slowest(runs: Runs) -> Verdict:
    losses = {v: loss_or_inf(run) for v, run in runs.items()}
    iters = runs["sgd"].iterations()
    others = ", ".join(f"{label} {num(losses[v])}" for v, label, _ in OPTIMIZERS[1:])
    return Verdict(
        losses["sgd"] == max(losses.values()),
        f"SGD's training loss after {iters:,} iterations: {num(losses['sgd'])} ({others})",
        f"{iters:,} 回の更新後の SGD の訓練損失: {num(losses['sgd'])}({others})",
        {v: losses[v] for v in losses},
    )


def _adaptive_ahead(runs: Runs) -> Verdict:
    best = min(("momentum", "adagrad", "adam"), key=lambda v: loss_or_inf(runs[v]))
    ratio = loss_or_inf(runs["sgd"]) / loss_or_inf(runs[best])
    label = dict((v, label) for v, label, _ in OPTIMIZERS)[best]
    return Verdict(
        ratio >= 2,
        f"SGD's loss is {num(ratio, 1)}× that of the best, {label}",
        f"SGD の損失は最良の {label} の {num(ratio, 1)} 倍",
        {"ratio": ratio},
    )


OPTIMIZER_LESSON = Lesson(
    id="optimizers",
    figure="6-9",
    title_en="Optimisers race on Fashion-MNIST",
    title_ja="最適化手法の比較(Fashion-MNIST)",
    text_en="The book's network (4 hidden layers of 100 ReLU units, He init, batch 128) trained 2,000 iterations by SGD, "
    "Momentum, AdaGrad and Adam at the book's learning rates. Watch the loss against iterations.",
    text_ja="本と同じネットワーク(ReLU 100 ユニットの隠れ層4つ、He の初期値、バッチ 128)を SGD・Momentum・AdaGrad・Adam で "
    "2,000 回更新します。学習率も本と同じです。反復回数に対する損失を見てください。",
    expected_en="SGD learns the slowest; the other three pull ahead from the first few hundred iterations.",
    expected_ja="SGD が最も遅く、ほかの3つは最初の数百回から先行します。",
    minutes=0.5,
    charts=("loss_steps", "test_accuracy"),
    variants=tuple(
        Variant(
            v,
            label,
            label,
            job(
                f"optimizers: {label}",
                fashion(OPT_LIMIT),
                _mlp("relu"),
                epochs=OPT_EPOCHS,
                batch_size=OPT_BATCH,
                optimizer={"name": v, "lr": lr},
            ),
        )
        for v, label, lr in OPTIMIZERS
    ),
    rules=(
        Rule("sgd_slowest", "SGD is the slowest of the four", "SGD が4つの中で最も遅い", _sgd_slowest, tuple(v for v, _, _ in OPTIMIZERS)),
        Rule(
            "adaptive_ahead",
            "the best of the others ends at half SGD's loss or less",
            "ほかの最良の手法は SGD の損失の半分以下",
            _adaptive_ahead,
            tuple(v for v, _, _ in OPTIMIZERS),
        ),
    ),
)

# --- initial weights: activation distributions (Figs 6-10 to 6-14) ---------------------------------------------------

HIST_INITS = (
    ("sigmoid_std1", "sigmoid, std 1", "sigmoid・標準偏差 1", "sigmoid", None, 1.0),
    ("sigmoid_std001", "sigmoid, std 0.01", "sigmoid・標準偏差 0.01", "sigmoid", None, 0.01),
    ("sigmoid_xavier", "sigmoid, Xavier", "sigmoid・Xavier", "sigmoid", "xavier", None),
    ("relu_std001", "ReLU, std 0.01", "ReLU・標準偏差 0.01", "relu", None, 0.01),
    ("relu_xavier", "ReLU, Xavier", "ReLU・Xavier", "relu", "xavier", None),
    ("relu_he", "ReLU, He", "ReLU・He", "relu", "he", None),
)


def _hist_variant(vid: str, en: str, ja: str, act: str, init: str | None, std: float | None) -> Variant:
    layers = [FLATTEN, *(dense(100, act, init or "normal", std) for _ in range(5))]
    return Variant(
        vid, en, ja, job(f"activations: {en}", fashion(1000), layers, epochs=1, batch_size=100, optimizer={"name": "sgd", "lr": 0.01})
    )


def _saturated(run_id: str) -> Decide:
    def decide(runs: Runs) -> Verdict:
        layers = hidden_layers(runs[run_id].first)
        sat = [float(layer["activation"]["saturated_fraction"]) for layer in layers]
        return Verdict(
            min(sat) > 0.5,
            f"outputs near 0 or 1, layers 1–5: {', '.join(pct(s) for s in sat)}",
            f"0 か 1 に近い出力の割合(層 1〜5): {', '.join(pct(s) for s in sat)}",
            {"min_saturated": min(sat)},
        )

    return decide


def _narrow(runs: Runs) -> Verdict:
    small = activation_stds(runs["sigmoid_std001"])
    xavier = activation_stds(runs["sigmoid_xavier"])
    ratio = min(x / s if s else float("inf") for x, s in zip(xavier, small, strict=True))
    return Verdict(
        ratio > 2,
        f"activation std by layer, std 0.01: {', '.join(num(s, 3) for s in small)}; Xavier: {', '.join(num(x, 3) for x in xavier)}",
        f"層ごとの活性化の標準偏差、標準偏差 0.01: {', '.join(num(s, 3) for s in small)}、Xavier: {', '.join(num(x, 3) for x in xavier)}",
        {"least_ratio": ratio},
    )


def _relu_shrinks(run_id: str, factor: float) -> Decide:
    def decide(runs: Runs) -> Verdict:
        stds = activation_stds(runs[run_id])
        ratio = stds[0] / stds[-1] if stds[-1] else float("inf")
        return Verdict(
            ratio > factor,
            f"activation std, layer 1 → 5: {num(stds[0], 4)} → {num(stds[-1], 4)} (÷{num(ratio, 1)})",
            f"活性化の標準偏差(層 1 → 5): {num(stds[0], 4)} → {num(stds[-1], 4)}(÷{num(ratio, 1)})",
            {"layer1": stds[0], "layer5": stds[-1]},
        )

    return decide


def _he_keeps(runs: Runs) -> Verdict:
    stds = activation_stds(runs["relu_he"])
    ratio = max(stds) / min(stds)
    return Verdict(
        ratio < 2,
        f"activation std, layers 1–5: {', '.join(num(s, 3) for s in stds)} (largest ÷ smallest {num(ratio, 2)})",
        f"活性化の標準偏差(層 1〜5): {', '.join(num(s, 3) for s in stds)}(最大 ÷ 最小 {num(ratio, 2)})",
        {"spread": ratio},
    )


ACTIVATION_LESSON = Lesson(
    id="activations",
    figure="6-10–6-14",
    title_en="Activation distributions by initial weights",
    title_ja="重みの初期値と活性化の分布",
    text_en="Five layers of 100 units, untrained: the histograms of each layer's outputs, side by side, for sigmoid "
    "with std 1, std 0.01 and Xavier, and ReLU with std 0.01, Xavier and He.",
    text_ja="100 ユニットの層を5つ重ねた学習前のネットワーク。各層の出力のヒストグラムを並べます。sigmoid は標準偏差 1・0.01・"
    "Xavier、ReLU は標準偏差 0.01・Xavier・He。",
    expected_en="Sigmoid with std 1 piles up at 0 and 1 (gradients vanish), std 0.01 crowds at 0.5 (every unit alike), "
    "Xavier spreads out; with ReLU, std 0.01 and Xavier shrink layer by layer while He keeps every layer alike.",
    expected_ja="sigmoid で標準偏差 1 は 0 と 1 に偏り(勾配消失)、0.01 は 0.5 付近に集中(表現力の制限)、Xavier は広がります。"
    "ReLU では標準偏差 0.01 と Xavier は層を追うごとに縮み、He はどの層も同じ広がりを保ちます。",
    minutes=0.25,
    charts=("activation_histograms",),
    variants=tuple(_hist_variant(*row) for row in HIST_INITS),
    rules=(
        Rule(
            "sigmoid_std1_saturates",
            "sigmoid, std 1: most outputs sit near 0 or 1 in every layer",
            "sigmoid・標準偏差 1: どの層も出力の大半が 0 か 1 の近く",
            _saturated("sigmoid_std1"),
            ("sigmoid_std1",),
        ),
        Rule(
            "sigmoid_std001_narrow",
            "sigmoid, std 0.01: in every layer the outputs spread less than half as wide as Xavier's",
            "sigmoid・標準偏差 0.01: どの層でも出力の広がりが Xavier の半分未満",
            _narrow,
            ("sigmoid_std001", "sigmoid_xavier"),
        ),
        Rule(
            "relu_std001_shrinks",
            "ReLU, std 0.01: the spread shrinks layer by layer",
            "ReLU・標準偏差 0.01: 広がりが層ごとに縮む",
            _relu_shrinks("relu_std001", 100),
            ("relu_std001",),
        ),
        Rule(
            "relu_xavier_shrinks",
            "ReLU, Xavier: the spread shrinks with depth",
            "ReLU・Xavier: 深くなるほど広がりが縮む",
            _relu_shrinks("relu_xavier", 2),
            ("relu_xavier",),
        ),
        Rule("relu_he_keeps", "ReLU, He: every layer keeps the same spread", "ReLU・He: どの層も同じ広がりを保つ", _he_keeps, ("relu_he",)),
    ),
)

# --- initial weights: learning (Fig 6-15) -----------------------------------------------------------------------------

INITS = (
    ("std001", "std 0.01", "標準偏差 0.01", "normal", 0.01),
    ("xavier", "Xavier", "Xavier", "xavier", None),
    ("he", "He", "He", "he", None),
)


def _std001_stuck(runs: Runs) -> Verdict:
    loss = loss_or_inf(runs["std001"])
    iters = runs["std001"].iterations()
    return Verdict(
        abs(loss - LN10) < 0.02,
        f"std 0.01's training loss after {iters:,} iterations: {num(loss)} (ln 10 = {num(LN10)})",
        f"{iters:,} 回後の標準偏差 0.01 の訓練損失: {num(loss)}(ln 10 = {num(LN10)})",
        {"loss": loss},
    )


def _xavier_he_learn(runs: Runs) -> Verdict:
    xavier, he = loss_or_inf(runs["xavier"]), loss_or_inf(runs["he"])
    return Verdict(
        max(xavier, he) < 1.0,
        f"training loss: Xavier {num(xavier)}, He {num(he)}",
        f"訓練損失: Xavier {num(xavier)}、He {num(he)}",
        {"xavier": xavier, "he": he},
    )


def _he_fastest(runs: Runs) -> Verdict:
    xavier, he = loss_or_inf(runs["xavier"]), loss_or_inf(runs["he"])
    return Verdict(
        he < xavier,
        f"training loss: He {num(he)}, Xavier {num(xavier)}",
        f"訓練損失: He {num(he)}、Xavier {num(xavier)}",
        {"xavier": xavier, "he": he},
    )


INIT_LESSON = Lesson(
    id="init",
    figure="6-15",
    title_en="Initial weights decide whether it learns",
    title_ja="重みの初期値で学習が決まる",
    text_en="The optimiser lesson's network, trained by SGD (0.01) for 2,000 iterations from three initial weights: "
    "normal with std 0.01, Xavier and He.",
    text_ja="最適化の比較と同じネットワークを SGD(0.01)で 2,000 回更新します。初期値は標準偏差 0.01 の正規分布、Xavier、He の3通り。",
    expected_en="With std 0.01 the loss stays at ln 10 ≈ 2.30: nothing is learned. Xavier and He learn, He the fastest.",
    expected_ja="標準偏差 0.01 では損失が ln 10 ≈ 2.30 のまま、まったく学習しません。Xavier と He は学習し、He が最も速く進みます。",
    minutes=0.5,
    charts=("loss_steps", "test_accuracy"),
    variants=tuple(
        Variant(
            v,
            en,
            ja,
            job(
                f"init: {en}",
                fashion(OPT_LIMIT),
                _mlp("relu", init, std),
                epochs=OPT_EPOCHS,
                batch_size=OPT_BATCH,
                optimizer={"name": "sgd", "lr": 0.01},
            ),
        )
        for v, en, ja, init, std in INITS
    ),
    rules=(
        Rule(
            "std001_stuck",
            "std 0.01 is still at 2.30 after 2,000 iterations",
            "標準偏差 0.01 は 2,000 回後も 2.30 のまま",
            _std001_stuck,
            ("std001",),
        ),
        Rule(
            "xavier_he_learn",
            "Xavier and He both get below a loss of 1.0",
            "Xavier と He はどちらも損失 1.0 未満まで学習する",
            _xavier_he_learn,
            ("xavier", "he"),
        ),
        Rule("he_fastest", "He ends below Xavier", "He の損失が Xavier より低い", _he_fastest, ("xavier", "he")),
    ),
)

# --- batch normalisation (Fig 6-19) -----------------------------------------------------------------------------------

BN_SCALES = (1.0, 0.1, 0.01, 0.001)
BN_EPOCHS = 20  # the book's: 1,000 images, batch 100, 20 epochs


def _bn_layers(std: float, bn: bool) -> list[dict]:
    """The book's Affine → BatchNorm → ReLU with batch norm, Affine → ReLU without."""
    layers: list[dict] = [FLATTEN]
    for _ in range(5):
        if bn:
            layers += [dense(100, "identity", std=std), {"type": "batchnorm"}, {"type": "activation", "activation": "relu"}]
        else:
            layers.append(dense(100, "relu", std=std))
    return layers


def _bn_id(std: float, bn: bool) -> str:
    return f"{'bn' if bn else 'plain'}_{std:g}".replace(".", "_")


def _bn_wins(runs: Runs) -> Verdict:
    rows, wins = [], 0
    values: dict[str, float | None] = {}
    for std in BN_SCALES:
        with_bn, without = acc_or_zero(runs[_bn_id(std, True)], "train_accuracy"), acc_or_zero(runs[_bn_id(std, False)], "train_accuracy")
        wins += with_bn > without
        rows.append(f"{std:g}: {pct(with_bn)} / {pct(without)}")
        values[f"bn_{std:g}"], values[f"plain_{std:g}"] = with_bn, without
    return Verdict(
        wins == len(BN_SCALES),
        f"training accuracy with / without batch norm, by init std — {'; '.join(rows)}",
        f"初期値の標準偏差ごとの訓練精度(BN あり / なし) — {'; '.join(rows)}",
        values,
    )


BATCHNORM_LESSON = Lesson(
    id="batchnorm",
    figure="6-19",
    title_en="Batch norm at four initial scales",
    title_ja="4つの初期値でのバッチ正規化",
    text_en="1,000 training images, 5 hidden layers of 100 ReLU units, SGD 0.01, batch 100, 20 epochs, as in the book; "
    "each layer's weights start normal with std 1, 0.1, 0.01 or 0.001, once without and once with batch norm between "
    "each affine layer and its ReLU.",
    text_ja="本と同じく訓練画像 1,000 枚、ReLU 100 ユニットの隠れ層5つ、SGD 0.01、バッチ 100、20 エポック。重みの初期値の標準偏差を "
    "1・0.1・0.01・0.001 の4通りにし、それぞれバッチ正規化なしとあり(各 Affine と ReLU の間)で学習します。",
    expected_en="With batch norm the network learns faster at every initial scale, and learns at all where the plain one cannot.",
    expected_ja="バッチ正規化を使うと、どの初期値でも学習が速く進み、使わないと学習できない初期値でも学習できます。",
    minutes=0.25,
    charts=("train_accuracy",),
    variants=tuple(
        Variant(
            _bn_id(std, bn),
            f"std {std:g}{', batch norm' if bn else ''}",
            f"標準偏差 {std:g}{'・BN' if bn else ''}",
            job(
                f"batchnorm: std {std:g}{' + BN' if bn else ''}",
                fashion(1000),
                _bn_layers(std, bn),
                epochs=BN_EPOCHS,
                batch_size=100,
                optimizer={"name": "sgd", "lr": 0.01},
            ),
        )
        for std in BN_SCALES
        for bn in (False, True)
    ),
    rules=(
        Rule(
            "bn_wins",
            "batch norm ends with the higher training accuracy at every scale",
            "どの初期値でもバッチ正規化ありの方が訓練精度が高い",
            _bn_wins,
            tuple(_bn_id(std, bn) for std in BN_SCALES for bn in (False, True)),
        ),
    ),
)

# --- overfitting, weight decay and dropout (Figs 6-20 to 6-23) --------------------------------------------------------

FIT_EPOCHS = 200


def _fit_layers(dropout: float | None) -> list[dict]:
    layers: list[dict] = [FLATTEN]
    for _ in range(6):
        layers.append(dense(100, "relu"))
        if dropout:
            layers.append({"type": "dropout", "p": dropout})
    return layers


FIT_VARIANTS = (("plain", "no regularisation", "正則化なし", {}, None), ("l2", "weight decay λ = 0.1", "荷重減衰 λ = 0.1", {"l2": 0.1}, None),
                ("dropout", "dropout 0.2", "ドロップアウト 0.2", {}, 0.2))  # fmt: skip


def _gap(run: Run) -> float:
    return acc_or_zero(run, "train_accuracy") - acc_or_zero(run, "test_accuracy")


def _overfits(runs: Runs) -> Verdict:
    run = runs["plain"]
    train, test = acc_or_zero(run, "train_accuracy"), acc_or_zero(run, "test_accuracy")
    return Verdict(
        train > 0.95 and train - test > 0.2,
        f"no regularisation: train {pct(train)}, test {pct(test)} (gap {pct(train - test)})",
        f"正則化なし: 訓練 {pct(train)}、テスト {pct(test)}(差 {pct(train - test)})",
        {"train": train, "test": test},
    )


def _narrows(variant: str) -> Decide:
    def decide(runs: Runs) -> Verdict:
        plain, other = _gap(runs["plain"]), _gap(runs[variant])
        return Verdict(
            other < 0.75 * plain,
            f"train − test accuracy: {pct(other)}, against {pct(plain)} without",
            f"訓練精度 − テスト精度: {pct(other)}(正則化なしでは {pct(plain)})",
            {"gap": other, "plain_gap": plain},
        )

    return decide


OVERFIT_LESSON = Lesson(
    id="overfitting",
    figure="6-20–6-23",
    title_en="Overfitting 300 images, then weight decay and dropout",
    title_ja="300 枚での過学習、荷重減衰とドロップアウト",
    text_en="Only 300 training images, 6 hidden layers of 100 ReLU units, SGD 0.01, batch 100, 200 epochs: as the book, "
    "plain, with weight decay λ = 0.1, and with dropout 0.2 after every hidden layer.",
    text_ja="訓練画像はわずか 300 枚。ReLU 100 ユニットの隠れ層6つ、SGD 0.01、バッチ 100、200 エポック。本と同じく、正則化なし、荷重減衰 "
    "λ = 0.1、各隠れ層の後にドロップアウト 0.2 の3通り。",
    expected_en="Without regularisation training accuracy reaches nearly 100% while test accuracy stalls far below; weight decay "
    "and dropout narrow that gap.",
    expected_ja="正則化なしでは訓練精度がほぼ 100% に達する一方でテスト精度は大きく下回ります。荷重減衰とドロップアウトはその差を縮めます。",
    minutes=0.75,
    charts=("train_test_accuracy",),
    variants=tuple(
        Variant(
            v,
            en,
            ja,
            job(
                f"overfitting: {en}",
                fashion(300),
                _fit_layers(p),
                epochs=FIT_EPOCHS,
                batch_size=100,
                optimizer={"name": "sgd", "lr": 0.01},
                **extra,
            ),
        )
        for v, en, ja, extra, p in FIT_VARIANTS
    ),
    rules=(
        Rule(
            "plain_overfits",
            "without regularisation: train above 95%, test more than 20 points lower",
            "正則化なし: 訓練精度 95% 超、テストは 20 ポイント以上低い",
            _overfits,
            ("plain",),
        ),
        Rule(
            "l2_narrows",
            "weight decay narrows the gap by a quarter or more",
            "荷重減衰で差が 1/4 以上縮む",
            _narrows("l2"),
            ("plain", "l2"),
        ),
        Rule(
            "dropout_narrows",
            "dropout narrows the gap by a quarter or more",
            "ドロップアウトで差が 1/4 以上縮む",
            _narrows("dropout"),
            ("plain", "dropout"),
        ),
    ),
)

LESSONS = (OPTIMIZER_LESSON, ACTIVATION_LESSON, INIT_LESSON, BATCHNORM_LESSON, OVERFIT_LESSON)

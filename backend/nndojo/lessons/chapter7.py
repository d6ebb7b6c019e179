"""Chapters 7–8 on Fashion-MNIST: what a ConvNet's first filters learn (Fig 7-24), and LeNet against a small AlexNet."""

from __future__ import annotations

from typing import Any

from nndojo.lessons.measures import acc_or_zero, num, pct
from nndojo.lessons.model import Lesson, Rule, Run, Runs, Variant, Verdict
from nndojo.lessons.specs import FLATTEN, conv, dense, fashion, job, pool
from nndojo.spec.check import check_spec
from nndojo.spec.models import JobSpec

# --- filters before and after training (Fig 7-24) ---------------------------------------------------------------------


def conv_filters(event: dict[str, Any] | None) -> list | None:
    """The first conv layer's filters as the event carries them: [filter][channel][row][column]."""
    layer = next((layer for layer in (event or {}).get("layers", []) if layer.get("type") == "conv2d"), None)
    return None if layer is None else layer.get("filters")


def smoothness(filters: list) -> float:
    """The mean correlation of horizontally and vertically neighbouring weights within a filter: about 0 for random
    noise, positive for the blobs and edges a trained first layer learns."""
    scores = []
    for f in filters:
        for grid in f:
            values = [v for row in grid for v in row]
            mean = sum(values) / len(values)
            var = sum((v - mean) ** 2 for v in values)
            if var == 0:
                continue
            pairs = [(row[j], row[j + 1]) for row in grid for j in range(len(row) - 1)]
            pairs += [(grid[i][j], grid[i + 1][j]) for i in range(len(grid) - 1) for j in range(len(grid[i]))]
            cov = sum((a - mean) * (b - mean) for a, b in pairs) / len(pairs)
            scores.append(cov / (var / len(values)))
    return sum(scores) / len(scores) if scores else 0.0


def _filters_smooth(runs: Runs) -> Verdict:
    run = runs["convnet"]
    before, after = conv_filters(run.first), conv_filters(run.last)
    s0 = smoothness(before) if before else None
    s1 = smoothness(after) if after else None
    return Verdict(
        s0 is not None and s1 is not None and abs(s0) < 0.15 and s1 > s0 + 0.2,
        f"neighbouring weights' correlation in the 30 filters: {num(s0, 2)} at epoch 0, {num(s1, 2)} trained",
        f"30 枚のフィルタで隣り合う重みの相関: エポック 0 で {num(s0, 2)}、学習後 {num(s1, 2)}",
        {"before": s0, "after": s1},
    )


FILTERS_LESSON = Lesson(
    id="filters",
    figure="7-24",
    title_en="A ConvNet's first filters: noise, then edges",
    title_ja="畳み込み層のフィルタ: ノイズからエッジへ",
    text_en="The book's simple ConvNet: 30 filters of 5×5, ReLU, 2×2 max pooling, 100 dense units, weights drawn with std "
    "0.01, trained with Adam on 6,000 images. The filters at epoch 0 beside the trained ones.",
    text_ja="本の SimpleConvNet: 5×5 のフィルタ 30 枚、ReLU、2×2 の最大プーリング、全結合 100 ユニット、重みは標準偏差 0.01 で初期化。"
    "6,000 枚を Adam で学習し、エポック 0 のフィルタと学習後のフィルタを並べます。",
    expected_en="Before training the filters are random noise; trained, they turn into smooth blobs and edges: neighbouring "
    "weights become alike.",
    expected_ja="学習前のフィルタはランダムなノイズですが、学習後は滑らかな濃淡やエッジになります。隣り合う重みが似てきます。",
    minutes=0.5,
    charts=("filters", "test_accuracy"),
    variants=(
        Variant(
            "convnet",
            "simple ConvNet",
            "SimpleConvNet",
            job(
                "simple ConvNet: filters",
                fashion(6000),
                [conv(30, 5, std=0.01), pool(), FLATTEN, dense(100, "relu", std=0.01)],
                epochs=3,
                batch_size=100,
                optimizer={"name": "adam", "lr": 0.001},
            ),
        ),
    ),
    rules=(
        Rule(
            "filters_smooth",
            "the filters start as noise (correlation near 0) and end smoother by more than 0.2",
            "フィルタはノイズ(相関ほぼ 0)から始まり、学習後は相関が 0.2 超上がる",
            _filters_smooth,
            ("convnet",),
        ),
    ),
)

# --- LeNet against a small AlexNet (ch. 8) ----------------------------------------------------------------------------

NETS_LIMIT, NETS_EPOCHS = 3000, 4
LRN = {"type": "lrn", "size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}
LENET = [conv(6, 5, 2), pool(), conv(16, 5), pool(), FLATTEN, dense(120, "relu"), dense(84, "relu")]
ALEXNET = [conv(16, 5, 2), LRN, pool(), conv(32, 3, 1), LRN, pool(), conv(48, 3, 1), conv(48, 3, 1), conv(32, 3, 1), pool(), FLATTEN,
           {"type": "dropout", "p": 0.5}, dense(128, "relu"), {"type": "dropout", "p": 0.5}, dense(128, "relu")]  # fmt: skip


def _n_params(run: Run) -> int:
    return check_spec(JobSpec.model_validate(run.spec)).n_params


def _seconds_per_epoch(run: Run) -> float:
    """Training time an epoch: from epoch 0's event to the last, so the dataset's loading and the start are left out."""
    first, last = run.first or {}, run.last or {}
    epochs = int(last.get("epoch") or 0) - int(first.get("epoch") or 0)
    return (float(last.get("elapsed_s") or 0.0) - float(first.get("elapsed_s") or 0.0)) / max(1, epochs)


def _alexnet_costs(runs: Runs) -> Verdict:
    lenet, alexnet = runs["lenet"], runs["alexnet"]
    params = _n_params(alexnet) / _n_params(lenet)
    seconds = _seconds_per_epoch(alexnet) / max(_seconds_per_epoch(lenet), 1e-9)
    return Verdict(
        seconds > 3,
        f"an epoch takes {num(_seconds_per_epoch(alexnet), 1)} s against {num(_seconds_per_epoch(lenet), 1)} s (×{num(seconds, 1)}); "
        f"parameters: {_n_params(alexnet):,} against {_n_params(lenet):,} (×{num(params, 2)})",
        f"1 エポックに {num(_seconds_per_epoch(alexnet), 1)} 秒 対 {num(_seconds_per_epoch(lenet), 1)} 秒(×{num(seconds, 1)})、"
        f"パラメータ数 {_n_params(alexnet):,} 対 {_n_params(lenet):,}(×{num(params, 2)})",
        {"time_ratio": seconds, "param_ratio": params},
    )


def _lenet_ahead(runs: Runs) -> Verdict:
    lenet, alexnet = acc_or_zero(runs["lenet"]), acc_or_zero(runs["alexnet"])
    return Verdict(
        lenet > alexnet,
        f"test accuracy after epoch {runs['lenet'].spec['training']['epochs']}: LeNet {pct(lenet)}, AlexNet {pct(alexnet)}",
        f"{runs['lenet'].spec['training']['epochs']} エポック後のテスト精度: LeNet {pct(lenet)}、AlexNet {pct(alexnet)}",
        {"lenet": lenet, "alexnet": alexnet},
    )


NETS_LESSON = Lesson(
    id="lenet_alexnet",
    figure="7-27, 7-28",
    title_en="LeNet against a small AlexNet",
    title_ja="LeNet 対 小さな AlexNet",
    text_en=f"{NETS_LIMIT:,} Fashion-MNIST images, Adam, {NETS_EPOCHS} epochs: LeNet (2 conv, 2 pooling, 3 dense, ReLU) "
    "against a small AlexNet (5 conv, LRN, 3 pooling, dropout, 3 dense), on this machine's CPU.",
    text_ja=f"Fashion-MNIST {NETS_LIMIT:,} 枚、Adam で {NETS_EPOCHS} エポック。LeNet(畳み込み2、プーリング2、全結合3、ReLU)と小さな "
    "AlexNet(畳み込み5、LRN、プーリング3、ドロップアウト、全結合3)を、このマシンの CPU で比べます。",
    expected_en="AlexNet's depth costs many times LeNet's computation for every image; with a few thousand images and a "
    "few CPU minutes the small LeNet is still ahead. Depth pays once there is data and compute to match (ch. 8: big data "
    "and GPUs).",
    expected_ja="AlexNet の深さは画像1枚ごとに LeNet の何倍もの計算を要します。数千枚と CPU で数分では、小さな LeNet の方がまだ上です。"
    "深さが生きるのは、それに見合うデータと計算資源があるときです(8章: ビッグデータと GPU)。",
    minutes=1.5,
    charts=("test_accuracy", "loss"),
    variants=tuple(
        Variant(
            v,
            label,
            label,
            job(
                f"{label} on Fashion-MNIST",
                fashion(NETS_LIMIT),
                layers,
                epochs=NETS_EPOCHS,
                batch_size=64,
                optimizer={"name": "adam", "lr": 0.001},
            ),
        )
        for v, label, layers in (("lenet", "LeNet", LENET), ("alexnet", "AlexNet", ALEXNET))
    ),
    rules=(
        Rule(
            "alexnet_costs",
            "an AlexNet epoch takes more than 3× as long as LeNet's",
            "AlexNet の1エポックは LeNet の3倍超の時間がかかる",
            _alexnet_costs,
            ("lenet", "alexnet"),
        ),
        Rule(
            "lenet_ahead",
            "in this budget LeNet ends with the higher test accuracy",
            "この予算では LeNet の方がテスト精度が高い",
            _lenet_ahead,
            ("lenet", "alexnet"),
        ),
    ),
)

LESSONS = (FILTERS_LESSON, NETS_LESSON)

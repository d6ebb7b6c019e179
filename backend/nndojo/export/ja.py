"""The Japanese of every comment in the exported code, keyed by its English text ($placeholders kept as they are).

tests/test_export.py checks that every template's comments (and toy.py's, which the export copies) are here.
"""

from __future__ import annotations

JA: dict[str, str] = {
    # the header and settings
    'NN Dojo: the run "$name", exported as plain PyTorch.': "NN Dojo: 実行「$name」を素の PyTorch に書き出したもの。",
    "Run it with: python $filename (it needs $needs)": "実行方法: python $filename （$needs が必要です）",
    "It trains the same network on the same data, from the same seed, as the server did, and prints each epoch's": (
        "サーバーと同じネットワークを同じデータ・同じシードで学習し、エポックごとに"
    ),
    "loss (and accuracy, for classes) on the training and test sets: on the CPU they match the run's own to 4 digits.": (
        "訓練データとテストデータの損失（分類なら正解率も）を表示します。CPU では実行時の値と 4 桁まで一致します。"
    ),
    "The run stopped ($status) after epoch $epoch of $epochs; this file trains all $epochs epochs.": (
        "この実行はエポック $epoch / $epochs で止まりました（$status）。このファイルは $epochs エポックすべてを学習します。"
    ),
    "The run trained on a GPU ($device), whose sums round differently: on a CPU its numbers differ a little.": (
        "この実行は GPU ($device) で学習しました。足し算の丸め方が違うので、CPU では数値が少し変わります。"
    ),
    "every random choice follows from it: the data, the first weights, the order of the samples, dropout": (
        "乱数はすべてこのシードから決まります: データ、重みの初期値、サンプルの順番、ドロップアウト"
    ),
    "one thread, as on the server: the same sums in the same order give the same numbers": (
        "サーバーと同じく 1 スレッド: 同じ順序で足し算するので同じ数値になります"
    ),
    "To start from the run's trained weights instead (Export → weights, a .safetensors file), after `model = Net()`:": (
        "学習済みの重み（エクスポート → 重み、.safetensors ファイル）から始めるには、`model = Net()` の後で:"
    ),
    # the data
    'TensorFlow Playground\'s "$name" set: the same generator as on the server, so the same seed gives the same points': (
        "TensorFlow Playground の「$name」データ: サーバーと同じ生成コードなので、同じシードから同じ点が得られます"
    ),
    "every random number of the data comes from this generator": "データの乱数はすべてこの生成器から",
    "shuffle, then split: the first part trains, the rest tests": "シャッフルしてから分割: 前半が訓練用、残りがテスト用",
    "the network's inputs, one column per feature: $feature_names": "ネットワークの入力。特徴量ごとに 1 列: $feature_names",
    "scikit-learn's 1,797 handwritten digits, 8x8 pixels from 0 to 16": "scikit-learn の手書き数字 1,797 枚。8x8 画素、値は 0〜16",
    "pixels scaled to [0, 1], shaped (samples, channels, height, width)": "画素を [0, 1] に縮め、(サンプル, チャネル, 高さ, 幅) の形にする",
    "$title, read from its four IDX files (Debian's package dataset-fashion-mnist puts Fashion-MNIST's here)": (
        "$title を 4 つの IDX ファイルから読む（Debian の dataset-fashion-mnist パッケージは Fashion-MNIST をここに置きます）"
    ),
    "change this to where your copy of the files is": "ファイルを置いた場所に書き換えてください",
    "one IDX file, plain or gzipped: a small header with the sizes, then one byte per pixel or label": (
        "IDX ファイル 1 つ（gzip 圧縮も可）: 大きさを書いた短いヘッダーの後に、画素やラベルが 1 バイトずつ"
    ),
    "the official split: all 60,000 training images": "公式の分割: 訓練画像 60,000 枚すべて",
    "train_limit: a random $limit of them": "train_limit: そのうち無作為に $limit 枚",
    "the training points, coloured by their label": "訓練データの点。色はラベル",
    "the first 12 training images and their labels": "最初の 12 枚の訓練画像とそのラベル",
    'your uploaded data "$title": put the CSV file you uploaded beside this one (or change the path)': (
        "アップロードしたデータ「$title」: アップロードした CSV ファイルをこのファイルと同じ場所に置いてください（またはパスを書き換える）"
    ),
    "the feature columns, in the order the network takes them": "特徴量の列。ネットワークに入る順番",
    "the column to predict$classes": "予測する列$classes",
    "class i is CLASSES[i], numbered as the server numbered them": "クラス i は CLASSES[i]。番号の付け方はサーバーと同じ",
    "the file as the server read it: UTF-8 text, a header row, then one row per sample (blank rows skipped);": (
        "サーバーと同じ読み方: UTF-8 のテキストで、見出しの行の後に 1 サンプル 1 行（空行は飛ばす）。"
    ),
    "the separator is the one the header has most of: comma, semicolon or tab": "区切り文字は見出しの行に一番多いもの: カンマ、セミコロン、タブ",
    "each column standardised with the training part's mean and standard deviation (a constant one only centred)": (
        "各列を訓練データの平均と標準偏差で標準化（値が一定の列は平均を引くだけ）"
    ),
    "the training samples by their first two feature columns (as in the file), coloured by their label": (
        "訓練サンプルを最初の 2 つの特徴量の列（ファイルの値のまま）で描く。色はラベル"
    ),
    # toy.py's own comments (the export copies its generators)
    "points float64 (N, 2), labels: int64 classes or float64 targets": "点は float64 (N, 2)、ラベルは int64 のクラスか float64 の目標値",
    "the playground's plots and regressions cover [-6, 6]²": "Playground の図と回帰は [-6, 6]² の範囲",
    "the playground keeps the first bump on ties (strictly greater replaces); argmax also keeps the first": (
        "同点なら Playground は最初の山を採る（より大きいときだけ置き換える）。argmax も最初を採る"
    ),
    # the model
    "the network: the hidden layers one after another (body), then the output layer (head)": (
        "ネットワーク: 隠れ層を順に並べたもの (body) の後に出力層 (head)"
    ),
    "output, $units units": "出力層、$units ユニット",
    "z, the output layer's values before its activation ($output): the loss applies it": (
        "z は出力層の活性化関数 ($output) を通す前の値。活性化は損失関数の中で"
    ),
    "the first weights come from torch's generator, seeded here": "重みの初期値は torch の乱数生成器から。ここでシードを設定",
    "every weight and bias starts at zero": "重みもバイアスもすべて 0 から",
    "weights drawn from a normal distribution N(0, std²), biases zero": "重みは正規分布 N(0, std²) から、バイアスは 0",
    "Xavier as the textbook has it: weights from N(0, 1/n), n the inputs of one unit; biases zero": (
        "教科書の Xavier の初期値: 重みは N(0, 1/n)（n は 1 ユニットへの入力の数）、バイアスは 0"
    ),
    "He: weights from N(0, 2/n), n the inputs of one unit; biases zero": "He の初期値: 重みは N(0, 2/n)（n は 1 ユニットへの入力の数）、バイアスは 0",
    "the step function: 1 where x > 0, else 0; its derivative is 0, so nothing below it learns": (
        "ステップ関数: x > 0 なら 1、それ以外は 0。微分が 0 なので、これより下の層は学習しません"
    ),
    "AlexNet's local response normalisation: b = a / (k + α·Σa²)^β over `size` neighbouring channels": (
        "AlexNet の局所応答正規化: 隣り合う `size` 個のチャネルで b = a / (k + α·Σa²)^β"
    ),
    "(torch's own divides α by size, so it gets α·size here)": "（torch の実装は α を size で割るので、ここでは α·size を渡す）",
    "$name, output $shape": "$name、出力 $shape",
    # the training
    "cross-entropy of softmax(z) and the true classes, averaged over the batch (from z itself: more precise)": (
        "softmax(z) と正解クラスの交差エントロピー誤差、バッチで平均（z から直接計算するので精度が高い）"
    ),
    "binary cross-entropy of sigmoid(z) against the class, 0 or 1, averaged over the batch": (
        "sigmoid(z) とクラス（0 か 1）の二値交差エントロピー、バッチで平均"
    ),
    "binary cross-entropy of each sigmoid unit against the one-hot class: summed over units, averaged over the batch": (
        "各 sigmoid ユニットと one-hot のクラスの二値交差エントロピー: ユニットで合計し、バッチで平均"
    ),
    "the output layer's activation: $activation": "出力層の活性化関数: $activation",
    "sum of squares: ½Σ(y − t)² over the output units, averaged over the batch": "2 乗和誤差: 出力ユニットで ½Σ(y − t)²、バッチで平均",
    "one sigmoid unit: class 1 where sigmoid(z) > 0.5, that is where z > 0": "sigmoid ユニット 1 つ: sigmoid(z) > 0.5、つまり z > 0 ならクラス 1",
    "the class with the largest output": "出力が最大のクラス",
    "the loss and, for classes, the accuracy on a whole set, with dropout off and batch normalisation on its running averages": (
        "データ全体での損失と（分類なら）正解率。ドロップアウトは止め、バッチ正規化は移動平均を使う"
    ),
    "W ← W − ηg": "W ← W − ηg",
    "the textbook's momentum: v ← αv − ηg, then W ← W + v": "教科書の Momentum: v ← αv − ηg、次に W ← W + v",
    "(torch's SGD(momentum=...) keeps v ← αv + g and steps W ← W − ηv: not the same once η changes)": (
        "（torch の SGD(momentum=...) は v ← αv + g、W ← W − ηv: η が変わると同じになりません）"
    ),
    "Nesterov's momentum in the textbook's form: v ← αv − ηg, then W ← W + αv − ηg": (
        "教科書の形の Nesterov: v ← αv − ηg、次に W ← W + αv − ηg"
    ),
    "AdaGrad: h ← h + g², W ← W − ηg/(√h + ε)": "AdaGrad: h ← h + g²、W ← W − ηg/(√h + ε)",
    "Adadelta (Zeiler's rule; η scales its step, η = 1 is the paper's)": "Adadelta（Zeiler の規則。η は更新量の倍率で、論文では η = 1）",
    "RMSProp: h ← ρh + (1 − ρ)g², W ← W − ηg/(√h + ε)": "RMSProp: h ← ρh + (1 − ρ)g²、W ← W − ηg/(√h + ε)",
    "Adam: moving averages of g and g², corrected for their start at zero": "Adam: g と g² の移動平均を、0 から始まる偏りを補正して使う",
    "step schedule: multiplied by $gamma every $step_size epochs": "ステップ減衰: $step_size エポックごとに $gamma 倍",
    "exponential schedule: multiplied by $gamma every epoch": "指数減衰: 毎エポック $gamma 倍",
    "cosine schedule: from the starting rate down towards 0 along half a cosine wave": "コサイン減衰: 最初の学習率からコサイン波の半周期で 0 に向かう",
    "no schedule: the rate stays as it was last set": "スケジュールなし: 学習率は最後に設定した値のまま",
    "the run's learning rate was changed while it trained (live control): before optimiser step s it became r, for": (
        "この実行では学習中に学習率が変更されました（ライブ操作）。下の各 (s, r) について、"
    ),
    "each (s, r) here; the schedule then goes on from the new rate": "s 回目の更新の前に学習率が r になり、スケジュールはそこから続きます",
    "the rate the schedule starts from": "スケジュールの基準となる学習率",
    "optimiser steps taken so far": "これまでの更新回数",
    "the weights L1 and L2 apply to: dense, conv and output weights; not biases, not batch normalisation": (
        "L1・L2 をかける重み: 全結合・畳み込み・出力層の重み。バイアスとバッチ正規化にはかけない"
    ),
    "L2: the gradient of ½λ‖W‖² is λW": "L2: ½λ‖W‖² の勾配は λW",
    "L1: the gradient of λ|W| is λ·sign(W)": "L1: λ|W| の勾配は λ·sign(W)",
    "the order of the samples in each epoch": "各エポックのサンプルの順番",
    "the training samples the loss and accuracy are measured on (up to 10,000, drawn once, as on the server)": (
        "損失と正解率を測る訓練サンプル（最大 10,000 個。サーバーと同じく最初に一度だけ選ぶ）"
    ),
    "measure, print and remember an epoch's numbers; False once the loss is no longer a finite number": (
        "エポックの数値を測って表示し、記録する。損失が有限の数でなくなったら False"
    ),
    "epoch 0: before any training": "エポック 0: 学習する前",
    "[start, stop) of each batch of an epoch": "エポック内の各バッチの [開始, 終了)",
    "batch normalisation cannot take a batch of one sample: the last one joins the batch before it": (
        "バッチ正規化は 1 サンプルのバッチを扱えないので、最後の 1 個は前のバッチに入れる"
    ),
    "a new order every epoch": "エポックごとに新しい順番",
    "one batch of every training sample: nothing to shuffle$before": "訓練サンプル全部で 1 バッチ: シャッフル不要$before",
    "the loss after each epoch, on the training and the test set": "エポックごとの損失（訓練データとテストデータ）",
}

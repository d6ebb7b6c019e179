"""Max pooling whose inference path is a few elementwise maxima over strided views, rows then columns.

torch's CPU max_pool2d also computes the argmax indices and walks small NCHW planes one at a time: on LeNet-sized maps
that made the per-epoch evaluation of the train and test sets cost as much again as the convolutions. The maximum is
exact, so the values are the same; training (grad enabled) keeps torch's kernel and its backward. It is a CPU path: on
a GPU, torch's pooling is one kernel where this launches 2(k − 1).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

FAST_WINDOW = 25  # windows up to 5×5 take the strided path: its 2(k − 1) maximum ops beat torch's kernel there


class MaxPool2d(nn.MaxPool2d):
    def forward(self, x: Tensor) -> Tensor:
        kh, kw = _pair(self.kernel_size)
        sh, sw = _pair(self.stride if self.stride is not None else self.kernel_size)
        plain = _pair(self.padding) == (0, 0) and _pair(self.dilation) == (1, 1) and not self.ceil_mode
        if torch.is_grad_enabled() or x.device.type != "cpu" or self.return_indices or not plain or kh * kw > FAST_WINDOW:
            return super().forward(x)
        h, w = x.shape[-2:]
        if h < kh or w < kw:
            return super().forward(x)  # torch's own error message
        ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
        rows: Tensor | None = None  # separable: the max over the window's rows first (whole contiguous rows), then columns
        for a in range(kh):
            part = x[..., a : a + sh * (ho - 1) + 1 : sh, :]
            rows = part if rows is None else torch.maximum(rows, part)  # NaN propagates, as in max_pool2d
        assert rows is not None
        out: Tensor | None = None
        for b in range(kw):
            part = rows[..., b : b + sw * (wo - 1) + 1 : sw]
            out = part if out is None else torch.maximum(out, part)
        assert out is not None
        return out.contiguous()  # a 1-wide window leaves a strided view


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[-1]))

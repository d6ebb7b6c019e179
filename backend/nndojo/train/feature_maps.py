"""Feature maps of one fixed test image (`feature_maps`): what each conv, pooling, LRN and 2-D batchnorm layer makes of it.

The network diagram draws them in the layer's box, so a student sees the edges and blobs each filter picks out and how
they sharpen while training. One image, the same every epoch (the first of the job's `samples`, else test image 0), so
that the pictures of two epochs differ only by what the network learned. Maps are cut to MAP_CHANNELS channels and
averaged down to at most MAP_SIDE pixels a side (the box shows no finer detail), and layers are taken in model order
while their values total at most MAP_VALUES: train.budget sizes them with the same function.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from nndojo.nn.build import Net
from nndojo.train.rounding import places

MAP_TYPES = ("conv2d", "maxpool2d", "avgpool2d", "lrn", "batchnorm")  # layers whose output is a stack of images
MAP_CHANNELS = 16  # channels drawn a layer (the diagram's grid of tiles)
MAP_SIDE = 28  # pixels a side at most: MNIST's own size, and more than a tile in the diagram shows
MAP_VALUES = 1 << 15  # most values an event carries (~260 KB of JSON at 2 decimals)
MAP_DECIMALS = 2


def map_shape(out_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(channels, height, width) of a layer's drawn maps."""
    c, hgt, wid = out_shape
    return min(c, MAP_CHANNELS), min(hgt, MAP_SIDE), min(wid, MAP_SIDE)


def map_layers(layers: list[tuple[str, str, tuple[int, ...]]]) -> list[tuple[str, tuple[int, int, int]]]:
    """Of (name, type, output shape) of the hidden layers, those that get feature maps and their drawn shapes: image-shaped
    outputs of MAP_TYPES, in model order while the total stays within MAP_VALUES."""
    chosen, total = [], 0
    for name, kind, out_shape in layers:
        if kind not in MAP_TYPES or len(out_shape) != 3:
            continue
        shape = map_shape(out_shape)
        if total + math.prod(shape) <= MAP_VALUES:
            chosen.append((name, shape))
            total += math.prod(shape)
    return chosen


class FeatureMaps:
    """One test image's maps for a model: computed on the device into one flat tensor, read back as JSON."""

    def __init__(self, model: Net, image: Tensor, sample: int):
        self.model, self.image, self.sample = model, image, sample  # image: (1, C, H, W), the one input row
        self.layers = map_layers(list(model.layer_ends.values()))
        names = {name for name, _ in self.layers}
        self.ends = {end: name for end, (name, _, _) in model.layer_ends.items() if name in names}
        self.last = max(self.ends, default=0)

    def measure(self) -> Tensor:
        """Each chosen layer's maps, flat and in order: one forward of the image through the body, as far as it must go."""
        shapes = dict(self.layers)
        parts: list[Tensor] = []
        h = self.image
        for i, module in enumerate(self.model.body[: self.last]):
            h = module(h)
            name = self.ends.get(i + 1)
            if name is not None:
                c, hgt, wid = shapes[name]
                maps = h[:, :c]
                if maps.shape[2:] != (hgt, wid):
                    maps = F.adaptive_avg_pool2d(maps, (hgt, wid))
                parts.append(maps.reshape(-1).float())
        return torch.cat(parts)

    def to_json(self, values: np.ndarray) -> dict[str, Any]:
        """{"sample": test index, "layers": {name: [channel][y][x]}} at MAP_DECIMALS places."""
        out, offset = {}, 0
        for name, shape in self.layers:
            n = math.prod(shape)
            out[name] = places(values[offset : offset + n].reshape(shape), MAP_DECIMALS)
            offset += n
        return {"sample": self.sample, "layers": out}

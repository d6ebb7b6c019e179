"""What the network gets wrong on the test set: its confusion matrix (`confusion`) and, for image sets, a fixed handful
of test images with their predictions (`samples`), so the page can show the mistakes.

The sample images themselves ride once, on the first event that carries `samples`, rather than behind an endpoint:
the trainer holds the test set already, the API process never loads a dataset for it, and a stored run (replayed or
exported) stays complete by itself; 16 Fashion-MNIST images cost ~30 KB once a job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from nndojo.datasets.info import DatasetInfo
from nndojo.nn.activations import output_activation
from nndojo.train.losses import predicted_class
from nndojo.train.rounding import places

SAMPLES = 16  # test images a job follows
PROB_DECIMALS = 3
PIXEL_DECIMALS = 2  # pixels in [0, 1]; a thumbnail shows no finer shade


def outcomes_apply(info: DatasetInfo) -> bool:
    """Confusion for image and multi-class sets (a binary 2-D set shows its mistakes on the boundary)."""
    return info.task == "classification" and (info.kind == "image" or (info.n_classes or 0) > 2)


def sample_indices(n_test: int, seed: int) -> list[int]:
    """The test images a job follows, fixed by its seed (the same every epoch, and for every run of that seed)."""
    generator = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(n_test, generator=generator)[:SAMPLES].tolist())


class Outcomes:
    """Confusion and samples of one job, measured from the test rows' z of the epoch's forward pass."""

    def __init__(self, y_test: Tensor, x_test: Tensor, n_classes: int, output: str, samples: list[int] | None):
        self.y, self.n_classes, self.output = y_test, n_classes, output
        self.samples = samples
        self.index = None if samples is None else torch.tensor(samples, device=y_test.device)
        self.labels = None if samples is None else y_test[self.index].tolist()
        self.images: dict[str, Any] | None = None
        if samples is not None:
            pixels = x_test[self.index].float().cpu().numpy()
            self.images = {"shape": list(pixels.shape[1:]), "images": [places(image.ravel(), PIXEL_DECIMALS) for image in pixels]}

    def measure(self, z_test: Tensor) -> Tensor:
        """On the device, one vector: the confusion counts (row-major, rows the true class), then per sample its
        predicted class and that class's probability."""
        pred = predicted_class(z_test, self.output)
        counts = torch.bincount(self.y * self.n_classes + pred, minlength=self.n_classes**2).float()
        if self.index is None:
            return counts
        z = z_test[self.index]
        chosen = pred[self.index]
        probs = output_activation(self.output, z)
        if probs.shape[1] == 1:  # one sigmoid unit gives P(class 1)
            probs = torch.cat([1.0 - probs, probs], dim=1)
        prob = probs.gather(1, chosen[:, None])[:, 0]
        return torch.cat([counts, chosen.float(), prob.float()])

    def to_json(self, values: np.ndarray) -> dict[str, Any]:
        """`confusion` and, for image sets, `samples` (with the images the first time)."""
        c = self.n_classes
        body: dict[str, Any] = {"confusion": values[: c * c].reshape(c, c).astype(np.int64).tolist()}
        if self.samples is not None:
            k = len(self.samples)
            pred, prob = values[c * c : c * c + k], values[c * c + k : c * c + 2 * k]
            samples: dict[str, Any] = {
                "index": self.samples,
                "label": self.labels,
                "pred": pred.astype(np.int64).tolist(),
                "prob": places(prob, PROB_DECIMALS),
            }
            if self.images is not None:
                samples |= self.images
                self.images = None  # once a job
            body["samples"] = samples
        return body

"""train.loss_steps: the training loss every k steps, so the loss can be plotted against iterations as the textbook does
(one Fashion-MNIST epoch is 469 of them), at no per-step host sync: a step keeps its loss tensor, the epoch averages
them in windows of k on the device, and the probes' one host copy reads them."""

from __future__ import annotations

import torch
from torch import Tensor


class StepLosses:
    """One epoch's mini-batch losses, averaged over windows of `every` steps (the last window may be shorter)."""

    def __init__(self, every: int, device: torch.device):
        self.every, self.device = every, device
        self.losses: list[Tensor] = []
        self._divisor: Tensor | None = None

    def record(self, loss: Tensor) -> None:
        """After the step's forward pass: keeps the loss (detached: no graph held), no device op beyond the alias."""
        self.losses.append(loss.detach())

    def take(self) -> Tensor:
        """The epoch's window means, on the device, float32; empties the list for the next epoch."""
        n = len(self.losses)
        if n == 0:
            return torch.zeros(0, device=self.device)
        points = -(-n // self.every)
        stacked = torch.stack(self.losses).float()
        self.losses = []
        if self.every == 1:  # an epoch of at most 50 steps: the losses themselves, in one op
            return stacked
        if self._divisor is None or self._divisor.numel() != points:
            sizes = [self.every] * (points - 1) + [n - self.every * (points - 1)]
            self._divisor = torch.tensor(sizes, dtype=torch.float32, device=self.device)
        padded = torch.nn.functional.pad(stacked, (0, points * self.every - n))
        return padded.view(points, self.every).sum(dim=1).div_(self._divisor)

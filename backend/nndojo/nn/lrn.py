"""AlexNet's local response normalisation across channels (Krizhevsky et al. 2012, section 3.3).

b[c] = a[c] / (k + α · Σ_{c' within size/2 of c} a[c']²)^β

torch.nn.LocalResponseNorm divides α by `size` (it averages the squares); this module implements AlexNet's formula,
with α applied to the plain sum, so the paper's k=2, n=5, α=1e-4, β=0.75 mean what they say. It delegates to
torch's functional form with α·size, which is the same expression.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class LocalResponseNorm(nn.Module):
    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, alpha=self.alpha * self.size, beta=self.beta, k=self.k)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha} (AlexNet's, on the sum), beta={self.beta}, k={self.k}"

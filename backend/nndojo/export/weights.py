"""A trained model's weights as a safetensors file: what the worker sends the server and GET …/export/weights serves.

The names are the model's state_dict names (body.0.weight, …, head.bias, batch normalisation's running statistics),
which the exported Net shares, so the file loads into it with load_state_dict.
"""

from __future__ import annotations

from safetensors.torch import save
from torch import nn


def weights_bytes(model: nn.Module) -> bytes:
    """The model's state_dict, on the CPU, as safetensors bytes."""
    state = {name: tensor.detach().to("cpu").contiguous() for name, tensor in model.state_dict().items()}
    return save(state, metadata={"format": "pt"})

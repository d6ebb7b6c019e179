"""Model building from a job spec: activations, initialisations, LRN and the network itself."""

from nndojo.nn.activations import Step, hidden_activation, output_activation
from nndojo.nn.build import Net, build_model
from nndojo.nn.init import init_layer
from nndojo.nn.lrn import LocalResponseNorm

__all__ = ["LocalResponseNorm", "Net", "Step", "build_model", "hidden_activation", "init_layer", "output_activation"]

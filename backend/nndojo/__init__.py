"""NN Dojo: a playground where students design neural networks and watch them learn."""

__version__ = "0.1.0"

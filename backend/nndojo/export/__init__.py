"""A run taken home: plain PyTorch code (python), the same as a notebook (notebook), its trained weights (weights).

Code generation (data, model, training, python, notebook) is torch-free, so the API can serve it; weights is the
worker's side (torch and safetensors).
"""

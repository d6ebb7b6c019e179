"""The job spec: models, the pre-training check, and the catalog generated from them."""

from nndojo.spec.check import LayerShape, Limits, ShapeReport, SpecError, check_spec, layer_names, output_units
from nndojo.spec.models import JobSpec

__all__ = ["JobSpec", "LayerShape", "Limits", "ShapeReport", "SpecError", "check_spec", "layer_names", "output_units"]

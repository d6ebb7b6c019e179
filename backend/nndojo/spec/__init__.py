"""The job spec: models, the pre-training check, the layer registry, and the catalog and summaries generated from them."""

from nndojo.spec.check import LayerShape, Limits, ShapeReport, SpecError, check_spec, layer_names, output_units
from nndojo.spec.models import JobSpec
from nndojo.spec.summary import summary

__all__ = ["JobSpec", "LayerShape", "Limits", "ShapeReport", "SpecError", "check_spec", "layer_names", "output_units", "summary"]

"""The datasets a job can train on: TensorFlow Playground's 2-D sets, scikit-learn's digits and MNIST-like IDX files."""

from nndojo.datasets.info import DATASETS, FEATURES, DatasetInfo
from nndojo.datasets.load import Dataset, DatasetUnavailable, boundary_grid, feature_grid, load_dataset, preview

__all__ = ["DATASETS", "FEATURES", "Dataset", "DatasetInfo", "DatasetUnavailable", "boundary_grid", "feature_grid", "load_dataset", "preview"]

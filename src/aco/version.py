"""The package version (one place, read by `aco.__version__` and by artifacts)."""

__version__ = "0.1.0"

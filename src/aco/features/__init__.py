"""Features: turn a task (text, category, source) into numbers for the success estimators."""

from aco.features.base import FeatureExtractor, Features
from aco.features.catalog import DEFAULT_FEATURES, features_from_state, make_features

__all__ = ["DEFAULT_FEATURES", "FeatureExtractor", "Features", "features_from_state", "make_features"]

"""Policies: pure rules from predicted P(success) and prices to a model per task."""

from aco.policies.conformal import ConformalThreshold, calibrate_threshold, conformal
from aco.policies.rules import chosen_values, floors, most_likely, threshold, tier_floors, utility

__all__ = ["ConformalThreshold", "calibrate_threshold", "chosen_values", "conformal", "floors", "most_likely",
           "threshold", "tier_floors", "utility"]

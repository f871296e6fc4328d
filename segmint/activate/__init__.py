"""Activate: targeting plans per segment (M12) and audience files (M13, `export`).

>>> from segmint.activate import GOALS
>>> GOALS
('retain', 'grow', 'win back', 'nurture')
"""

from segmint.activate.targeting import GOALS, TargetingPlan, plan_targeting

__all__ = ["GOALS", "TargetingPlan", "plan_targeting"]

"""Measure: split tests per segment (M14) and campaign results per segment and channel (M15).

``stats`` holds the inference (pure functions over sufficient statistics, as GrowthBook's stats
engine); ``design`` assigns customers to variants; ``analyze`` computes the sufficient
statistics in the engine and runs the inference per segment; ``campaigns`` summarises
campaign results per campaign, segment and channel.
"""

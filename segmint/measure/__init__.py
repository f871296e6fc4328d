"""Measure: split tests per segment (M14) and campaign results per segment and channel (M15).

``bucket`` and ``design`` assign customers to variants (a hash of salt and customer id) and
store the assignment; ``power`` sizes a test; ``analyze`` computes the sufficient statistics
in the engine and runs the inference of ``stats`` (GrowthBook's formulas) per segment;
``campaigns`` summarises campaign results per campaign, segment and channel. Formulas,
defaults and sources: docs/experiments.md.

>>> from segmint.measure import Proportion, frequentist
>>> r = frequentist(Proportion(n=28, sum=14), Proportion(n=30, sum=16))
>>> round(r.estimate, 5), round(r.p_value, 5)
(0.06667, 0.80707)
"""

from segmint.measure.analyze import ALL, Analysis, Comparison, analyze
from segmint.measure.campaigns import CampaignResults, campaign_results
from segmint.measure.design import Design, design_experiment, list_experiments, load_design
from segmint.measure.power import Power, enough, sample_size
from segmint.measure.stats import (
    Bayesian,
    Frequentist,
    Proportion,
    SampleMean,
    SampleRatio,
    adjust,
    bayesian,
    frequentist,
    sample_ratio,
)

__all__ = [
    "ALL",
    "Analysis",
    "Bayesian",
    "CampaignResults",
    "Comparison",
    "Design",
    "Frequentist",
    "Power",
    "Proportion",
    "SampleMean",
    "SampleRatio",
    "adjust",
    "analyze",
    "bayesian",
    "campaign_results",
    "design_experiment",
    "enough",
    "frequentist",
    "list_experiments",
    "load_design",
    "sample_ratio",
    "sample_size",
]

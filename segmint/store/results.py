"""What a segmentation run produces, as typed, frozen data: the one shape that ``segmint run``
builds, the workspace stores (``segmentations.result``), ``report.json`` holds, and the
report, the web pages, the API and the CLI read.

A :class:`SegmentationResult` is one segmentation: its segments' labels and names, profiles (per segment:
size, revenue, means, lifts, rules, examples), the ranking with every component, targeting
plans, warnings, the fitted model's parameters and what the report draws (features used, the
automatic-k curve and chosen k, the 2-D projection, rule matches, the value models'
diagnostics). A :class:`RunResult` is the whole run. Both serialize to the JSON the report and
the workspace have always kept (same keys), at full precision, and load back from it; keys a
newer or older segmint wrote are kept as they are (``extra="allow"``), so a stored run is never
lost by reading and writing it again.

>>> seg = SegmentationResult(name="rfm", method="rfm", n_customers=2)
>>> SegmentationResult.from_json(seg.to_json()) == seg
True
"""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FeatureDriftResult",
    "FeedbackSummary",
    "FeedbackTopic",
    "KPoint",
    "MonitoringAlert",
    "MonitoringResult",
    "NeedsExtras",
    "NeedsFactor",
    "Plan",
    "Population",
    "Profiles",
    "Quote",
    "RankedSegment",
    "Ranking",
    "RuleMatch",
    "RunResult",
    "SegmentChange",
    "SegmentFeedback",
    "SegmentProfile",
    "SegmentationResult",
    "TopicShare",
    "ValueExtras",
]

#: a number as JSON keeps it (None: missing, NaN or infinite)
Number = int | float | None
#: a feature value as profiles report it
Scalar = bool | int | float | str | None
#: a free-form JSON value (a method's own diagnostics)
JSON = dict[str, Any]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, every key the stored shape has (None where a value is missing)."""
        out: dict[str, Any] = self.model_dump(mode="json")
        return out

    def dumps(self) -> str:
        """The JSON text (as stored in the workspace)."""
        return json.dumps(self.to_json(), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any]) -> Self:
        """Load what :meth:`to_json` (or an older segmint) wrote."""
        raw = json.loads(data) if isinstance(data, str | bytes) else data
        return cls.model_validate(raw)


class Population(_Result):
    """All customers of the segmentation: count, revenue, feature means and spreads."""

    customers: int = 0
    revenue: Number = None
    means: dict[str, Scalar] = Field(default_factory=dict)
    stds: dict[str, Scalar] = Field(default_factory=dict)


class SegmentProfile(_Result):
    """One segment (``docs/profiles.md``)."""

    label: str
    name: str
    size: int
    share: Number = None
    revenue: Number = None
    revenue_share: Number = None
    avg_value: Number = None
    means: dict[str, Scalar] = Field(default_factory=dict)
    medians: dict[str, Scalar] = Field(default_factory=dict)
    lift: dict[str, Number] = Field(default_factory=dict)
    over_represented: list[JSON] = Field(default_factory=list)
    rules: list[JSON] = Field(default_factory=list)
    examples: list[JSON] = Field(default_factory=list)


class Profiles(_Result):
    """Every segment's profile, the key variables and the surrogate tree's fidelity."""

    segmentation: str = ""
    method: str = ""
    population: Population = Field(default_factory=Population)
    segments: list[SegmentProfile] = Field(default_factory=list)
    key_variables: list[JSON] = Field(default_factory=list)
    fidelity: Number = None
    notes: list[str] = Field(default_factory=list)

    def segment(self, label: str) -> SegmentProfile | None:
        """The profile of segment ``label``, or None."""
        return next((s for s in self.segments if s.label == label), None)

    def names(self) -> dict[str, str]:
        """Segment label -> display name."""
        return {s.label: s.name for s in self.segments}


class RankedSegment(_Result):
    """One segment's importance score (1–10), rank (1 = most important) and every component."""

    label: str
    name: str = ""
    score: Number = None
    rank: int | None = None
    components: dict[str, Number] = Field(default_factory=dict)


class Ranking(_Result):
    """The ranking: formula, weights (every component, ``potential`` too), segments, notes."""

    formula: str = ""
    weights: dict[str, Number] = Field(default_factory=dict)
    segments: list[RankedSegment] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    #: component → why it was left out of the score (no data, or no information)
    dropped: dict[str, str] = Field(default_factory=dict)

    def components(self) -> list[str]:
        """Every component any segment carries, in the weights' order."""
        seen = list(self.weights)
        for s in self.segments:
            seen += [c for c in s.components if c not in seen]
        return seen


class Plan(_Result):
    """A segment's targeting plan; ``edited`` once a person changed it. ``subject`` and
    ``body`` are its message templates (``docs/activation.md``, "Message templates"); empty
    means none, and an export then has no message columns."""

    goal: str = ""
    channel: str = ""
    offer: str = ""
    message: str = ""
    reasons: list[str] = Field(default_factory=list)
    edited: bool = False
    subject: str = ""
    body: str = ""


class KPoint(_Result):
    """One k of the automatic-k search and its scores (the method's own columns as extras)."""

    k: int


class RuleMatch(_Result):
    """A rule of a rules segmentation and how many customers it took."""

    name: str
    rule: str
    matched: int


class ValueExtras(_Result):
    """The value models' section: parameters, holdout check, CLV histogram, P(alive) matrix."""

    unit: str | None = None
    holdout: JSON | None = None
    clv_histogram: JSON | None = None
    p_alive_matrix: JSON | None = None
    buyers: int | None = None
    customers: int | None = None
    models: JSON = Field(default_factory=dict)


class NeedsFactor(_Result):
    """One factor of a needs segmentation: its name, the items of its scale and their alpha."""

    factor: str
    name: str
    #: the items whose largest loading is on this factor (the scale)
    items: list[str] = Field(default_factory=list)
    #: Cronbach's alpha of the scale (None below two items)
    alpha: Number = None
    #: share of the items' variance the factor explains
    variance: Number = None


class NeedsExtras(_Result):
    """A needs segmentation's factor solution (``segmint.feedback.survey.FactorSolution``):
    how many factors and by which rule, eigenvalues against the rule's thresholds, rotated
    loadings (items × factors) and the factors' scales."""

    rule: str | None = None
    #: the choice in words, e.g. "3 chosen by parallel analysis (…)"
    rule_text: str | None = None
    rotation: str | None = None
    respondents: int = 0
    items: list[str] = Field(default_factory=list)
    #: per possible factor: {"factor", "eigenvalue", "threshold", "retained"}
    eigenvalues: list[JSON] = Field(default_factory=list)
    #: loadings[i][j]: item ``items[i]`` on factor ``factors[j]``
    loadings: list[list[Number]] = Field(default_factory=list)
    factors: list[NeedsFactor] = Field(default_factory=list)


class TopicShare(_Result):
    """One topic within a segment's texts, against every text of the run's population."""

    topic: int
    name: str
    n_texts: int = 0
    #: share of the segment's topic-assigned texts in this topic
    share: Number = None
    #: share of all topic-assigned texts (the population) in this topic
    population_share: Number = None
    #: share / population_share (None when the population has no text in it)
    lift: Number = None


class Quote(_Result):
    """A representative text of a segment (the text only: no customer id, no name)."""

    text: str
    sentiment: Number = None
    topic: int | None = None


class SegmentFeedback(_Result):
    """What one segment's customers wrote: sentiment, topics, complaint themes, quotes."""

    label: str
    n_texts: int = 0
    #: texts with a sentiment score (English texts; others are flagged, not scored)
    n_scored: int = 0
    n_customers: int = 0
    sentiment_mean: Number = None
    #: 95 % confidence interval of the mean sentiment [low, high]
    sentiment_ci: list[Number] = Field(default_factory=list)
    share_negative: Number = None
    #: topic mix, largest share first
    topics: list[TopicShare] = Field(default_factory=list)
    #: topics over-represented against the population (lift > 1, enough texts), by lift
    over_represented: list[TopicShare] = Field(default_factory=list)
    #: topics of the segment's negative texts over-represented against all negative texts
    complaint_themes: list[TopicShare] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)


class FeedbackTopic(_Result):
    """One topic found in the texts: named by its top terms, with example texts."""

    topic: int
    name: str
    terms: list[str] = Field(default_factory=list)
    n_texts: int = 0
    share: Number = None
    examples: list[str] = Field(default_factory=list)


class FeedbackSummary(_Result):
    """Feedback texts summarised per segment of one segmentation
    (:func:`segmint.profile.summarize_feedback`; counts and sentiment are of the texts of the
    segmentation's customers, the population)."""

    n_texts: int = 0
    n_scored: int = 0
    #: texts not scored because their language is not English (or could not be told)
    n_not_english: int = 0
    #: texts of customers outside this segmentation (or without a customer id): left out
    n_unlabelled: int = 0
    sentiment_mean: Number = None
    #: 95 % confidence interval of the mean sentiment [low, high]
    sentiment_ci: list[Number] = Field(default_factory=list)
    share_negative: Number = None
    topics: list[FeedbackTopic] = Field(default_factory=list)
    segments: list[SegmentFeedback] = Field(default_factory=list)


class SegmentationResult(_Result):
    """One segmentation of a run (the ``segmentations.result`` row and a report section)."""

    name: str
    method: str
    n_customers: int = 0
    features: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    profiles: Profiles = Field(default_factory=Profiles)
    ranking: Ranking = Field(default_factory=Ranking)
    targeting: dict[str, Plan] = Field(default_factory=dict)
    k_curve: list[KPoint] = Field(default_factory=list)
    #: the k the automatic-k rule chose, before the guard merged any segment
    chosen_k: int | None = None
    k_rule: str | None = None
    #: the size/stability guard's flagged segments after the choice (GuardResult.report):
    #: {"segment", "share", "stability", "reasons", "action", "final_segment"}
    guard: list[JSON] = Field(default_factory=list)
    projection: JSON | None = None
    rules: list[RuleMatch] = Field(default_factory=list)
    #: the fitted model's parameters (centres, scaling, cut points, …) as JSON
    model: JSON = Field(default_factory=dict)
    value: ValueExtras | None = None
    #: feedback texts per segment (when the workspace has analysed feedback texts)
    feedback: FeedbackSummary | None = None
    #: the factor solution of a needs segmentation
    needs: NeedsExtras | None = None

    def labels(self) -> list[str]:
        """The segment labels, largest segment first (each customer's label is stored in the
        ``segment_assignments`` table, not here)."""
        return [s.label for s in self.profiles.segments]

    def names(self) -> dict[str, str]:
        """Segment label -> display name."""
        return self.profiles.names()

    def renamed(self, label: str, new_name: str) -> SegmentationResult:
        """A copy where segment ``label`` is called ``new_name`` in profiles and ranking; the
        profile is marked ``renamed`` (the next run keeps the name: ``segmint/_run/_stable.py``)."""
        segments = [
            s.model_copy(update={"name": new_name, "renamed": True}) if s.label == label else s
            for s in self.profiles.segments
        ]
        ranked = [
            r.model_copy(update={"name": new_name}) if r.label == label else r
            for r in self.ranking.segments
        ]
        return self.model_copy(
            update={
                "profiles": self.profiles.model_copy(update={"segments": segments}),
                "ranking": self.ranking.model_copy(update={"segments": ranked}),
            }
        )

    def with_plan(self, label: str, fields: dict[str, str]) -> SegmentationResult:
        """A copy where segment ``label``'s plan has ``fields`` replaced (marked edited)."""
        old = self.targeting.get(label, Plan())
        plan = old.model_copy(update={**fields, "edited": True})
        return self.model_copy(update={"targeting": {**self.targeting, label: plan}})


class MonitoringAlert(_Result):
    """Something that crossed a monitoring threshold (``docs/monitoring.md``, "Alerts"):
    ``kind`` is ``feature_drift``, ``segment_size`` or ``moved_share``; ``value`` is compared
    with ``threshold``."""

    kind: str
    subject: str | None = None
    value: Number = None
    threshold: Number = None
    message: str = ""


class FeatureDriftResult(_Result):
    """One feature's drift between the runs (:class:`segmint.monitor.drift.FeatureDrift`):
    for ``ks``, ``chisquare`` and ``z`` the threshold applies to ``p_value``, for the
    distances to ``statistic``; ``method`` "none" with a ``reason`` when it was not tested."""

    feature: str
    kind: str = ""
    method: str = ""
    statistic: Number = None
    threshold: Number = None
    p_value: Number = None
    drifted: bool = False
    n_baseline: int = 0
    n_current: int = 0
    psi: Number = None
    bins: list[JSON] = Field(default_factory=list)
    missing_baseline: int = 0
    missing_current: int = 0
    reason: str | None = None


class SegmentChange(_Result):
    """One segmentation in both runs (:class:`segmint.monitor.migration.Migration`): the
    migration counts customers present in both runs, ``sizes`` every customer of each run;
    ``history`` is the customers per segment in every segment run holding it, oldest first
    (``{run_id: {label: n}}``)."""

    name: str
    baseline: str = ""
    current: str = ""
    migration: dict[str, dict[str, int]] = Field(default_factory=dict)
    sizes: dict[str, dict[str, int]] = Field(default_factory=dict)
    names: dict[str, dict[str, str]] = Field(default_factory=dict)
    customers_in_both: int = 0
    stayed: int = 0
    stayed_share: Number = None
    centroid_shift: dict[str, Number] = Field(default_factory=dict)
    new: list[str] = Field(default_factory=list)
    retired: list[str] = Field(default_factory=list)
    history: dict[str, dict[str, int]] = Field(default_factory=dict)


class MonitoringResult(_Result):
    """This run compared with the workspace's previous segment run (the baseline): what
    :meth:`segmint.monitor.compare.Monitoring.to_dict` holds, plus each segmentation's sizes
    over the runs."""

    baseline: str
    current: str
    crossed: bool = False
    alerts: list[MonitoringAlert] = Field(default_factory=list)
    features: list[FeatureDriftResult] = Field(default_factory=list)
    segmentations: list[SegmentChange] = Field(default_factory=list)
    thresholds: JSON = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class RunResult(_Result):
    """A whole ``segmint run``: what ``report.json`` holds."""

    title: str = "Customer segments"
    workspace: str | None = None
    run_id: str | None = None
    generated_at: str | None = None
    as_of: str | None = None
    #: the data-quality summary and gates (``segmint.clean``'s report)
    quality: JSON = Field(default_factory=dict)
    segmentations: list[SegmentationResult] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    #: campaign results per campaign × segment × channel, when the workspace has campaign
    #: contacts (``segmint.measure.campaigns.CampaignResults.to_dict()``)
    campaigns: JSON | None = None
    #: this run compared with the previous segment run of the workspace; None on a first run
    #: or when the comparison could not be made (a note says why)
    monitoring: MonitoringResult | None = None

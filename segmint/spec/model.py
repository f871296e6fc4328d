"""The pipeline spec: typed data loaded from YAML, validated with every problem reported at once.

```yaml
sources:
  - path: exports/orders.csv          # relative to the spec file
    as: orders                        # optional: the format or headers decide
    format: auto                      # auto | generic | shopify | stripe | …
    mapping:                          # canonical column: source header; always wins
      customer_id: Client No
      ordered_at: Order Date
    options: {delimiter: ";", encoding: latin-1, date_format: "%d/%m/%Y",
              timezone: Europe/Berlin, sheet: Orders, table: orders}
  - path: CDNOW_sample.txt            # a text file without a header row
    options: {header: false, columns: [customer_id, sample_id, date, number_of_cds,
                                       dollar_value]}
quality:                              # gates: largest share of bad values allowed
  max_invalid_dates: 0.02
  max_invalid_emails: 0.3
clean: {drop_identical_lines: false}  # true: also drop identical lines when there is no order id
identity: {link: true, threshold: 0.95}  # segmint dedupe before features (docs/identity.md)
features: {as_of: 2024-12-31}
segmentations:
  - name: lifestyle
    method: rules                     # rules | rfm | kmeans | kprototypes | gmm | hdbscan | value | needs
    rules:
      Young Professionals: age between 22 and 35 and income > 50000
      Families: children > 0
  - {name: rfm, method: rfm}
  - {name: clusters, method: kmeans, k: auto, features: [recency_days, frequency, monetary_total]}
  - name: value                       # CLV (MBG/NBD + Gamma-Gamma), value tiers, churn risk
    method: value
    horizon_days: 365
    discount_rate: 0.1                # annual
    holdout_days: 90                  # optional calibration/holdout check
    tiers: {Top 1%: 0.01, Top 10%: 0.1, Middle: 0.5}
ranking: {weights: {size: 0.2, revenue: 0.3, value: 0.2, growth: 0.15, reachability: 0.15}}
targeting: {clusters: {"1": {goal: retain, channel: email}}}
names: {clusters: {"1": Loyal big spenders}}
templates:                            # segmentation → segment label or name → subject, body
  clusters: {"1": {subject: 'Hi {{ first_name or "there" }}, early access for you',
                   body: "{{ plan.message }}"}}
monitoring: {max_size_change: 0.2, max_moved_share: 0.1, min_segment_size: 30}
retention: {orders: 3y, events: 13m, quality_samples: 30d}   # segmint/spec/retention.py
```
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from segmint.exceptions import SpecError
from segmint.spec.gates import QualityGates
from segmint.spec.message import check_template
from segmint.spec.retention import RetentionSpec
from segmint.store.schema import CANONICAL

__all__ = [
    "CleanSpec",
    "FeatureSpec",
    "FeedbackSpec",
    "IdentitySpec",
    "MessageTemplate",
    "MonitoringSpec",
    "RankingSpec",
    "RetentionSpec",
    "SegmentationSpec",
    "SourceOptions",
    "SourceSpec",
    "Spec",
    "load_spec",
    "retention_policy",
    "spec_from_text",
]

#: the method names the spec accepts (what each reads: segmint/segment/registry.py, which a
#: test keeps in step with these names)
METHODS = ("rules", "rfm", "kmeans", "kprototypes", "gmm", "hdbscan", "value", "needs")
CLUSTER_METHODS = ("kmeans", "kprototypes", "gmm", "hdbscan")


class SourceOptions(BaseModel):
    """How to read one source; every field is optional (sniffing fills the gaps)."""

    model_config = ConfigDict(extra="forbid")

    delimiter: str | None = None
    encoding: str | None = None
    #: false for a text file without a header row; columns then names its fields
    header: bool | None = None
    columns: list[str] | None = None
    sheet: str | int | None = None
    table: str | None = None
    query: str | None = None
    timezone: str | None = None
    date_format: str | None = None


class SourceSpec(BaseModel):
    """One file or database table to import."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    path: str
    as_: str | None = Field(None, alias="as")
    format: str = "auto"
    mapping: dict[str, str] = Field(default_factory=dict)
    options: SourceOptions = Field(default_factory=SourceOptions)
    replace: bool = False

    @field_validator("as_")
    @classmethod
    def _known_table(cls, v: str | None) -> str | None:
        if v is not None and v not in CANONICAL:
            raise ValueError(f"'{v}' is not a table; use one of {', '.join(CANONICAL)}")
        return v


class CleanSpec(BaseModel):
    """How to clean (see segmint/clean)."""

    model_config = ConfigDict(extra="forbid")

    #: also remove identical order lines from sources without an order id (kept by default:
    #: there they may be real repeat purchases)
    drop_identical_lines: bool = False


class FeatureSpec(BaseModel):
    """Which features to compute, as of when."""

    model_config = ConfigDict(extra="forbid")

    as_of: str | None = None
    families: list[str] | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_text(cls, v: Any) -> Any:
        """YAML reads 2024-12-31 as a date; keep it as ISO text."""
        return v.isoformat() if isinstance(v, date | datetime) else v


class SegmentationSpec(BaseModel):
    """One segmentation. ``params`` passes any other estimator keyword (e.g. ``n_init``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    method: str
    features: list[str] | None = None
    # rules
    rules: dict[str, str] | None = None
    mode: Literal["first_match", "overlapping"] = "first_match"
    other: str | None = "Other"
    # clustering
    k: int | str = "auto"
    k_range: tuple[int, int] = (2, 10)
    min_segment_share: float = Field(0.02, ge=0, lt=0.5)
    random_state: int = 0
    # rfm
    bins: int = Field(5, ge=2, le=10)
    # value (docs/value.md); margin, penalizer, unit, churn_p_alive, churn_value_share: params
    horizon_days: float = Field(365.0, gt=0)
    discount_rate: float = Field(0.10, gt=-1, le=10)
    holdout_days: int | None = Field(None, gt=0)
    tiers: dict[str, float] | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        if v not in METHODS:
            raise ValueError(f"'{v}' is not a method; use one of {', '.join(METHODS)}")
        return v

    @field_validator("k")
    @classmethod
    def _k(cls, v: int | str) -> int | str:
        if isinstance(v, str) and v != "auto":
            raise ValueError("k must be 'auto' or an integer ≥ 2")
        if isinstance(v, int) and v < 2:
            raise ValueError("k must be 'auto' or an integer ≥ 2")
        return v

    @model_validator(mode="after")
    def _method_needs(self) -> SegmentationSpec:
        if self.method == "rules" and not self.rules:
            raise ValueError("a rules segmentation needs rules: {Name: expression, …}")
        if self.method != "rules" and self.rules:
            raise ValueError(f"rules: only applies to method rules, not {self.method}")
        if self.method != "value" and (self.tiers is not None or self.holdout_days is not None):
            raise ValueError(
                f"tiers and holdout_days only apply to method value, not {self.method}"
            )
        if self.tiers is not None:
            shares = list(self.tiers.values())
            if not all(0 < v < 1 for v in shares) or len(set(shares)) != len(shares):
                raise ValueError(
                    "tiers must map names to different shares between 0 and 1 "
                    "(e.g. {Top 1%: 0.01, Top 10%: 0.1, Middle: 0.5}); the rest is Low"
                )
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ValueError("k_range must be [low, high] with 2 ≤ low ≤ high")
        return self


class RankingSpec(BaseModel):
    """Weights of the importance score (see docs/ranking.md)."""

    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] | None = None

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        known = {"size", "revenue", "value", "growth", "reachability", "potential"}
        bad = sorted(set(v) - known)
        if bad:
            raise ValueError(f"unknown weight(s) {', '.join(bad)}; use {', '.join(sorted(known))}")
        if any(w < 0 for w in v.values()) or not sum(v.values()) > 0:
            raise ValueError("weights must be ≥ 0 and not all 0")
        return v


class MessageTemplate(BaseModel):
    """A segment's message: subject and body templates (``segmint.spec.message``), each
    checked here, when the spec is loaded, for syntax, unknown fields and the sandbox's rules."""

    model_config = ConfigDict(extra="forbid")

    subject: str = ""
    body: str = ""

    @field_validator("subject", "body")
    @classmethod
    def _checked(cls, v: str, info: ValidationInfo) -> str:
        v = v.strip()
        if v:
            check_template(v, str(info.field_name))
        return v


class MonitoringSpec(BaseModel):
    """When ``segmint monitor`` raises an alert (docs/monitoring.md, "Comparing runs")."""

    model_config = ConfigDict(extra="forbid")

    #: a segment whose size changed by more than this share (0.2: grew or shrank by > 20 %)
    max_size_change: float = Field(0.2, ge=0)
    #: a segmentation where more than this share of customers changed segment
    max_moved_share: float = Field(0.1, ge=0, le=1)
    #: segments smaller than this in both runs raise no size alert (their changes are noise)
    min_segment_size: int = Field(30, ge=0)


class IdentitySpec(BaseModel):
    """How ``segmint dedupe`` links customer records (docs/identity.md); every key optional.

    ``fields`` maps customers columns to field kinds (person_name, first_name, last_name,
    company, email, phone, date, address, city, postal_code, region, country, id, text) and
    replaces the automatic choice; ``blocking`` lists blocking rules (a list of fields that
    must be equal, or a SQL condition on ``l.`` and ``r.``); ``comparisons`` takes Splink
    comparison dictionaries. ``link: true`` makes ``segmint run`` link before it builds
    features.
    """

    model_config = ConfigDict(extra="forbid")

    link: bool = False
    threshold: float | None = Field(None, gt=0, lt=1)
    fields: dict[str, str] | None = None
    blocking: list[str | list[str]] | None = None
    comparisons: list[dict[str, Any]] | None = None
    #: pairs scored at least this likely are kept for review and explanations
    review_floor: float = Field(0.05, gt=0, lt=1)


class FeedbackSpec(BaseModel):
    """How ``segmint run`` analyses feedback texts (docs/text.md); every key optional.

    ``analyze`` (default true): a run analyses the feedback texts when they changed since the
    last analysis (``segmint feedback analyze``), so the text features and the per-segment
    summaries are current; ``topics``: ``auto`` (chosen by stability) or a number ≥ 2;
    ``random_state``: the topic model's seed.
    """

    model_config = ConfigDict(extra="forbid")

    analyze: bool = True
    topics: int | Literal["auto"] = "auto"
    random_state: int = 0

    @field_validator("topics")
    @classmethod
    def _enough_topics(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 2:
            raise ValueError("topics must be 'auto' or a whole number ≥ 2")
        return v


class Spec(BaseModel):
    """The whole pipeline spec."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] = Field(default_factory=list)
    quality: QualityGates = Field(default_factory=QualityGates)
    clean: CleanSpec = Field(default_factory=CleanSpec)
    #: record linkage (``segmint dedupe``)
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    #: feedback texts: language, sentiment, topics (``segmint feedback analyze``)
    feedback: FeedbackSpec = Field(default_factory=FeedbackSpec)
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    segmentations: list[SegmentationSpec] = Field(default_factory=list)
    ranking: RankingSpec = Field(default_factory=RankingSpec)
    #: segmentation name -> segment label -> plan fields (goal, channel, offer, message)
    targeting: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)
    #: segmentation name -> segment label -> display name
    names: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: segmentation name -> segment label or name -> message templates (subject, body)
    templates: dict[str, dict[str, MessageTemplate]] = Field(default_factory=dict)
    report: dict[str, str] = Field(default_factory=dict)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    #: how long rows are kept (``segmint retention apply``, scheduled runs)
    retention: RetentionSpec = Field(default_factory=RetentionSpec)

    @model_validator(mode="after")
    def _unique_names(self) -> Spec:
        seen: set[str] = set()
        for s in self.segmentations:
            if s.name in seen:
                raise ValueError(f"two segmentations are named '{s.name}'; names must differ")
            seen.add(s.name)
        return self

    #: folder the spec was loaded from; source paths are relative to it
    base_dir: Path = Path(".")

    def source_path(self, source: SourceSpec) -> str:
        if "://" in source.path:
            return source.path
        p = Path(source.path).expanduser()
        return str(p if p.is_absolute() else self.base_dir / p)

    def source_for(self, location: str) -> SourceSpec | None:
        """The spec entry for a file given on the command line, matched by path or name."""
        target = Path(location).resolve() if "://" not in location else None
        for s in self.sources:
            if s.path == location:
                return s
            if (
                target is not None
                and "://" not in s.path
                and (Path(self.source_path(s)).resolve() == target)
            ):
                return s
        return None


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML (or JSON) spec; raise one SpecError listing every problem."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"There is no spec file at '{p}'.", fix="check the path to the YAML spec.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"The spec is not UTF-8 text (byte {exc.start:,} cannot be read); is it the "
            "right file?",
            where=str(p),
            fix="pass the YAML spec (a text file), saved as UTF-8.",
        ) from None
    return spec_from_text(text, where=str(p), base_dir=p.parent)


def spec_from_text(text: str, *, where: str, base_dir: Path) -> Spec:
    """Validate a spec given as YAML (or JSON) text: a spec kept in the workspace (a
    schedule's) or sent to the server. ``where`` names it in errors; relative source paths
    are read from ``base_dir``."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}, line {mark.line + 1}" if mark is not None else where
        raise SpecError(
            f"The spec is not valid YAML: {getattr(exc, 'problem', exc)}.",
            where=at,
            fix="check indentation and quoting around that line (values with ':' or '#' "
            "need quotes).",
        ) from None
    except RecursionError:  # [[[[… thousands deep: the YAML reader recurses per level
        raise SpecError(
            "The spec is nested too deeply to read (lists or mappings inside each other "
            "hundreds of levels deep).",
            where=where,
            fix="a spec needs a few levels: sources:, segmentations: and their settings; see "
            "docs/spec.md.",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(
            "The spec must be a mapping with keys like sources: and quality:.",
            where=where,
            fix="start the file with 'sources:'.",
        )
    try:
        spec = Spec.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors()]
        raise SpecError(
            f"The spec has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
            + "; ".join(problems)
            + ".",
            where=where,
            fix="correct each listed key; see the example at the top of segmint/spec/model.py "
            "or in docs/spec.md.",
            problems=problems,
        ) from None
    return spec


def retention_policy(limits: Any, *, where: str = "the retention limits") -> RetentionSpec:
    """A ``retention:`` mapping given on its own (Python, the API) checked as the spec's
    section is: one SpecError listing every bad limit."""
    if not isinstance(limits, dict):
        raise SpecError(
            f"The retention limits must be a mapping like {{orders: 3y}}, not {type(limits).__name__}.",
            where=where,
            fix="give each table's limit, e.g. {orders: 3y, events: 13m, quality_samples: 30d}.",
        )
    try:
        return RetentionSpec.model_validate(limits)
    except ValidationError as exc:
        problems = [f"retention.{_describe(e)}" for e in exc.errors()]
        raise SpecError(
            f"The retention limits have {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
            + "; ".join(problems)
            + ".",
            where=where,
            fix="give durations like 3y, 13m, 26w or 30d for the keys of docs/privacy.md "
            "(Retention).",
            problems=problems,
        ) from None


def _describe(err: Any) -> str:
    loc = ""
    for part in err["loc"]:
        name = "as" if part == "as_" else part
        loc += f"[{name}]" if isinstance(name, int) else (f".{name}" if loc else str(name))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "is not a known key"
    return f"{loc}: {msg}" if loc else msg

"""Targeting plans (M12): goal, channel, offer and message theme per segment, with reasons.

Every plan is derived by documented rules (``docs/ranking.md``, section "Targeting") from the
segment's profile (lifts in standard deviations, average value, over-represented categories)
and its ranking components (reachability); each rule that fires adds a line to ``reasons``.
``overrides`` ({label or name: {"goal": ..., "channel": ..., "offer": ..., "message": ...}})
replace fields, as a spec would.

>>> import pandas as pd
>>> from segmint.profile import Profiles, SegmentProfile
>>> lapsed = SegmentProfile("L", "Lapsed", 50, 0.5, 500.0, 0.25, 10.0,
...                         lift={"recency_days": 1.2})
>>> p = Profiles("demo", "rules", {"customers": 100, "revenue": 2000.0}, [lapsed], [], 1.0,
...              pd.DataFrame())
>>> plan = plan_targeting(p, None)["L"]
>>> plan.goal, plan.channel
('win back', 'ads')
>>> plan.reasons[0]
'recency_days lift +1.2 sd (≥ 0.5): customers are lapsing → goal win back'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from segmint.exceptions import SpecError
from segmint.profile import Profiles, SegmentProfile
from segmint.profile.rank import Ranking
from segmint.spec.message import PLAN_FIELDS

__all__ = ["FIELDS", "GOALS", "TargetingPlan", "plan_targeting"]

GOALS = ("retain", "grow", "win back", "nurture")
#: the plan fields overrides may set (declared with the templates that may read them)
FIELDS = PLAN_FIELDS

#: a lift (sd) at least this large counts as "high" (recency: lapsing; discount: discount-driven)
HIGH_LIFT = 0.5
#: a tenure lift at most this low counts as "new customers"
NEW_LIFT = -0.5
#: average value at least this many times the population's counts as "high value"
HIGH_VALUE = 1.5
#: email when at least this share of the segment consented (or has an e-mail)
EMAIL_SHARE = 0.5
#: SMS when at least this share consented to SMS
SMS_SHARE = 0.5
#: app push when at least this share of orders came through the app
APP_SHARE = 0.4

RECENCY, TENURE, FREQUENCY, MONETARY = "recency_days", "tenure_days", "frequency", "monetary_total"
APP_KEYS = ("channel_share_app", "app_share", "share_app", "channel_app_share")
CATEGORY_PREFIXES = ("category_share_", "share_category_")


def _category_of(feature: str) -> str | None:
    """'cat_home_share' (segmint's feature name) or 'category_share_home' → 'home'."""
    if feature.startswith("cat_") and feature.endswith("_share"):
        return feature[4:-6] or None
    for p in CATEGORY_PREFIXES:
        if feature.startswith(p):
            return feature[len(p) :] or None
    return None


_HOOKS = {
    "onboarding": "get more from your next order",
    "discount": "a limited-time price just for you",
    "vip": "early access to what's new",
    "comeback": "a special offer to come back",
    "bundle": "a {category} bundle picked for you",
    "cross-sell": "new picks based on what you bought",
}
_OFFERS = {
    "onboarding": "onboarding: welcome series with a second-order incentive",
    "discount": "discount-driven: time-limited price offer",
    "vip": "VIP: early access and exclusive service",
    "comeback": "win-back: personal comeback offer",
    "bundle": "bundle in {category}",
    "cross-sell": "cross-sell: recommendations from past purchases",
}
_OPENERS = {
    "retain": "Thank you for being one of our best customers:",
    "grow": "Picked for you:",
    "win back": "We miss you:",
    "nurture": "Welcome aboard:",
}


@dataclass
class TargetingPlan:
    """One segment's plan: ``goal`` (retain, grow, win back, nurture), channel, offer, message;
    ``subject`` and ``body`` are its message templates (empty: none, see
    :mod:`segmint.activate.templates`)."""

    goal: str
    channel: str
    offer: str
    message: str
    reasons: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return asdict(self)


@dataclass
class _Facts:
    lift: dict[str, float]
    value_ratio: float | None
    reach: float | None
    sms: float | None
    app: float | None
    category: str | None
    discount: tuple[str, float] | None


def _num(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and v == v else None


def _facts(seg: SegmentProfile, profiles: Profiles, ranking: Ranking | None) -> _Facts:
    pop = profiles.population or {}
    n, revenue = pop.get("customers") or 0, pop.get("revenue") or 0.0
    pop_avg = float(revenue) / float(n) if n else 0.0
    ratio = float(seg.avg_value) / pop_avg if pop_avg > 0 else None
    reach = None
    if ranking is not None:
        try:
            reach = ranking.segment(seg.label).components.get("reachability")
        except KeyError:
            reach = None
    if reach is None:
        reach = _num(seg.means, "consent_email")
        reach = reach if reach is not None else _num(seg.means, "has_email")
    app = next((v for k in APP_KEYS if (v := _num(seg.means, k)) is not None), None)
    category = None
    for item in seg.over_represented:
        col, val = str(item.get("column", "")), item.get("value")
        if app is None and "channel" in col and str(val).lower() == "app":
            app = float(item.get("share", 0.0))
        if category is None and "category" in col and val is not None:
            category = str(val)
    if category is None:
        cats = {c: v for k, v in seg.lift.items() if (c := _category_of(k)) is not None and v == v}
        if cats and max(cats.values()) >= HIGH_LIFT:
            category = max(sorted(cats), key=lambda c: cats[c])
    discounts = {k: v for k, v in seg.lift.items() if "discount" in k and v == v}
    discount = max(sorted(discounts.items()), key=lambda kv: kv[1]) if discounts else None
    return _Facts(seg.lift, ratio, reach, _num(seg.means, "consent_sms"), app, category, discount)


def _goal(f: _Facts) -> tuple[str, str]:
    rec, ten = f.lift.get(RECENCY), f.lift.get(TENURE)
    if rec is not None and rec >= HIGH_LIFT:
        return "win back", f"{RECENCY} lift {rec:+.1f} sd (≥ {HIGH_LIFT}): customers are lapsing"
    if f.value_ratio is not None and f.value_ratio >= HIGH_VALUE:
        return "retain", f"average value {f.value_ratio:.1f}× the population's (≥ {HIGH_VALUE}×)"
    mon = f.lift.get(MONETARY)
    if mon is not None and mon >= HIGH_LIFT:
        return "retain", f"{MONETARY} lift {mon:+.1f} sd (≥ {HIGH_LIFT}): high spenders"
    if ten is not None and ten <= NEW_LIFT:
        return "nurture", f"{TENURE} lift {ten:+.1f} sd (≤ {NEW_LIFT}): new customers"
    freq = f.lift.get(FREQUENCY)
    if (
        ten is None
        and freq is not None
        and rec is not None
        and freq <= NEW_LIFT
        and rec <= NEW_LIFT
    ):
        return "nurture", (
            f"{FREQUENCY} lift {freq:+.1f} sd and {RECENCY} lift {rec:+.1f} sd "
            f"(both ≤ {NEW_LIFT}): recent first purchases"
        )
    return "grow", "no lapse, high-value or newness signal: grow frequency and basket"


def _channel(f: _Facts) -> tuple[str, str]:
    if f.app is not None and f.app >= APP_SHARE:
        return "app push", f"app share {f.app:.0%} (≥ {APP_SHARE:.0%})"
    if f.reach is not None and f.reach >= EMAIL_SHARE:
        return "email", f"e-mail reachable {f.reach:.0%} (≥ {EMAIL_SHARE:.0%})"
    known = "unknown" if f.reach is None else f"{f.reach:.0%}"
    if f.sms is not None and f.sms >= SMS_SHARE:
        return "sms", f"e-mail reachable {known} but SMS consent {f.sms:.0%} (≥ {SMS_SHARE:.0%})"
    if f.value_ratio is not None and f.value_ratio >= HIGH_VALUE:
        return "direct mail", f"e-mail reachable {known}; high value justifies direct mail"
    return "ads", f"e-mail reachable {known} (< {EMAIL_SHARE:.0%}): reach through ad audiences"


def _offer(f: _Facts, goal: str) -> tuple[str, str]:
    if goal == "nurture":
        return "onboarding", "new customers → onboarding offer"
    if f.discount is not None and f.discount[1] >= HIGH_LIFT:
        col, lift = f.discount
        return "discount", f"{col} lift {lift:+.1f} sd (≥ {HIGH_LIFT}): discount-driven"
    if goal == "retain":
        return "vip", "high value → VIP / early access"
    if goal == "win back":
        return "comeback", "lapsing → comeback offer"
    if f.category is not None:
        return "bundle", f"top category {f.category!r} → bundle"
    return "cross-sell", "no category or discount signal → cross-sell"


def _plan(seg: SegmentProfile, profiles: Profiles, ranking: Ranking | None) -> TargetingPlan:
    f = _facts(seg, profiles, ranking)
    goal, why_goal = _goal(f)
    channel, why_channel = _channel(f)
    theme, why_offer = _offer(f, goal)
    cat = f.category or ""
    offer = _OFFERS[theme].format(category=cat)
    message = f"{_OPENERS[goal]} {_HOOKS[theme].format(category=cat)}."
    reasons = [f"{why_goal} → goal {goal}", f"{why_channel} → {channel}", f"{why_offer}"]
    return TargetingPlan(goal, channel, offer, message, reasons)


def _apply(
    plans: dict[str, TargetingPlan], profiles: Profiles, overrides: dict[str, dict[str, Any]]
) -> dict[str, TargetingPlan]:
    if not isinstance(overrides, dict):
        raise SpecError(
            f"Targeting overrides must be a dict of segment → {{field: value}}. Got {overrides!r}.",
            fix='e.g. overrides={"Champions": {"channel": "sms"}}.',
        )
    by_name = {s.name: s.label for s in profiles.segments}
    problems: list[str] = []
    out = dict(plans)
    for key, fields in overrides.items():
        label = key if key in plans else by_name.get(key)
        if label is None:
            problems.append(f"unknown segment {key!r} (segments: {', '.join(plans)})")
            continue
        if not isinstance(fields, dict):
            problems.append(f"segment {key!r}: expected a dict of fields, got {fields!r}")
            continue
        changes: dict[str, str] = {}
        for name, value in fields.items():
            if name not in FIELDS:
                problems.append(f"segment {key!r}: unknown field {name!r} ({', '.join(FIELDS)})")
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"segment {key!r}: {name} must be non-empty text, got {value!r}")
            elif name == "goal" and value not in GOALS:
                problems.append(f"segment {key!r}: goal must be one of {GOALS}, got {value!r}")
            else:
                changes[name] = value.strip()
        if changes:
            notes = [f"{k} set by override" for k in changes]
            out[label] = replace(out[label], **changes, reasons=[*out[label].reasons, *notes])
    if problems:
        raise SpecError(
            "Invalid targeting overrides: " + "; ".join(problems) + ".",
            fix="key overrides by segment label or name, with fields goal, channel, offer, message.",
            problems=problems,
        )
    return out


def plan_targeting(
    profiles: Profiles,
    ranking: Ranking | None,
    *,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> dict[str, TargetingPlan]:
    """A :class:`TargetingPlan` per segment label of ``profiles`` (largest segment first).

    ``ranking`` (from :func:`segmint.profile.rank.rank`, or None) supplies reachability;
    without it, the segment's mean of ``consent_email`` (else ``has_email``) is used.
    """
    plans = {seg.label: _plan(seg, profiles, ranking) for seg in profiles.segments}
    if overrides:
        plans = _apply(plans, profiles, overrides)
    return plans

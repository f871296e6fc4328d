"""The new-segmentation form: its fields → the spec's ``segmentations`` list.

Rules are typed one per line as ``Name: expression`` (``#`` starts a comment line).

>>> rules, errors = parse_rules_text("VIP: monetary_total > 1000\\n# note\\nNew: tenure_days < 90")
>>> rules, errors
({'VIP': 'monetary_total > 1000', 'New': 'tenure_days < 90'}, [])
>>> parse_rules_text("just words")[1][0]["message"]
"Write each rule as 'Name: expression', e.g. 'VIP: monetary_total > 1000'."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from segmint.segment.registry import METHODS
from segmint.spec.model import SegmentationSpec

__all__ = ["CLUSTER_METHODS", "DEFAULTS", "build_specs", "parse_features", "parse_rules_text"]

#: the clustering methods the form offers: those that take a k (the method registry)
CLUSTER_METHODS = {m.name: m.label for m in METHODS.values() if m.takes_k}
DEFAULTS = {
    "rfm": "on",
    "rules_on": "",
    "rules": "",
    "cluster_on": "on",
    "cluster_method": "kmeans",
    "k": str(METHODS["kmeans"].defaults()["k"]),
    "features": "",
    "value_on": "",
    "horizon_days": f"{METHODS['value'].defaults()['horizon_days']:g}",
}
MAX_RULES = 50


def parse_rules_text(text: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``{name: expression}`` and the problems found, each with its line number."""
    rules: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, expression = line.partition(":")
        name, expression = name.strip(), expression.strip()
        if not colon or not name or not expression:
            errors.append(
                {
                    "line": number,
                    "rule": name if colon else "",
                    "message": "Write each rule as 'Name: expression', "
                    "e.g. 'VIP: monetary_total > 1000'.",
                }
            )
        elif name in rules:
            errors.append({"line": number, "rule": name, "message": f"'{name}' is defined twice."})
        elif len(name) > 80 or len(expression) > 2000:
            errors.append(
                {"line": number, "rule": name, "message": "The name or rule is too long."}
            )
        else:
            rules[name] = expression
    if len(rules) > MAX_RULES:
        errors.append({"line": 0, "rule": "", "message": f"At most {MAX_RULES} rules."})
    return rules, errors


def parse_features(text: str) -> list[str] | None:
    """The clustering features typed as ``a, b c`` (commas or spaces); None: the defaults.

    >>> parse_features("history, mens  womens"), parse_features(" ")
    (['history', 'mens', 'womens'], None)
    """
    names = list(dict.fromkeys(n for n in text.replace(",", " ").split() if n))
    return names or None


def _problem(exc: ValidationError) -> str:
    return "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())


def build_specs(form: Mapping[str, str]) -> tuple[list[SegmentationSpec], list[str]]:
    """The segmentations the form asks for, and the problems (empty when all is well)."""
    specs: list[SegmentationSpec] = []
    problems: list[str] = []

    def add(label: str, **fields: Any) -> None:
        try:
            specs.append(SegmentationSpec(**fields))
        except ValidationError as exc:
            problems.append(f"{label}: {_problem(exc)}.")

    if form.get("rfm"):
        add("RFM", name="rfm", method="rfm")
    if form.get("rules_on"):
        rules, errors = parse_rules_text(form.get("rules", ""))
        problems += [
            f"Rules, line {e['line']}: {e['message']}" if e["line"] else f"Rules: {e['message']}"
            for e in errors
        ]
        if not rules and not errors:
            problems.append("Rules: write at least one rule, or untick Rules.")
        elif not errors:
            add("Rules", name="rules", method="rules", rules=rules)
    if form.get("cluster_on"):
        method = form.get("cluster_method", "kmeans")
        raw_k = form.get("k", "auto").strip().lower() or "auto"
        if method not in CLUSTER_METHODS:
            problems.append(f"Clustering: choose one of {', '.join(CLUSTER_METHODS)}.")
        elif raw_k != "auto" and not raw_k.isdigit():
            problems.append(f"Clustering: k must be 'auto' or a whole number ≥ 2. Got '{raw_k}'.")
        else:
            k: int | str = "auto" if raw_k == "auto" else int(raw_k)
            features = parse_features(form.get("features", ""))
            add("Clustering", name="clusters", method=method, k=k, features=features)
    if form.get("value_on"):
        try:
            horizon = float(form.get("horizon_days", "365"))
        except ValueError:
            problems.append("Value: the horizon must be a number of days, e.g. 365.")
        else:
            add("Value", name="value", method="value", horizon_days=horizon)
    if not specs and not problems:
        problems.append("Choose at least one kind of segmentation.")
    return specs, problems

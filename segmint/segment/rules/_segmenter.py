"""``RulesSegmenter``: named rules in the rule language, evaluated in the engine (M4).

>>> import pandas as pd
>>> X = pd.DataFrame(
...     {"age": [25, 41, 30, 67], "income": [62_000, 48_000, 20_000, 90_000],
...      "children": [0, 2, 1, 0]},
...     index=pd.Index(["c1", "c2", "c3", "c4"], name="customer_id"),
... )
>>> seg = RulesSegmenter({
...     "Young Professionals": "age between 22 and 35 and income > 50k",
...     "Families": "children > 0",
... }).fit(X)
>>> seg.labels_.tolist()
['Young Professionals', 'Families', 'Families', 'Other']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import ibis.expr.types as ir
import pandas as pd

from segmint.exceptions import ModelError, SpecError
from segmint.segment.base import UNASSIGNED, BaseSegmenter, Segmentation
from segmint.segment.rules._ast import Relative, Rule, walk
from segmint.segment.rules._check import column_kind, columns_used, parse_rules
from segmint.segment.rules._compile import compile_rules, first_match
from segmint.segment.rules._dates import to_as_of
from segmint.segment.rules._frames import RuleInput, rule_input

__all__ = ["RulesSegmenter"]

_MODES = ("first_match", "overlapping")


def _rule_pairs(rules: Any) -> list[tuple[str, str]]:
    """The ``rules`` parameter as ``(name, text)`` pairs; every shape problem at once."""
    if isinstance(rules, Mapping):
        items: list[Any] = list(rules.items())
    elif isinstance(rules, Sequence) and not isinstance(rules, str | bytes):
        items = list(rules)
    else:
        raise SpecError(
            "The 'rules' parameter of RulesSegmenter must be a mapping {name: rule} or a list "
            f"of (name, rule) pairs. Got {type(rules).__name__}.",
            fix='write RulesSegmenter({"Families": "children > 0"}).',
        )
    problems: list[str] = []
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        ok = isinstance(item, tuple | list) and len(item) == 2
        if not ok or not all(isinstance(x, str) for x in item):
            problems.append(f"rules[{i}] must be a (name, rule) pair of strings; got {item!r}.")
        elif not item[0].strip():
            problems.append(f"rules[{i}] has an empty name; every rule needs a name.")
        elif any(item[0] == name for name, _ in pairs):
            problems.append(f"two rules are named '{item[0]}'; rule names must differ.")
        else:
            pairs.append((item[0], item[1]))
    if not items:
        problems.append("RulesSegmenter needs at least one rule; got none.")
    if problems:
        raise SpecError(
            problems[0] if len(problems) == 1 else "\n".join(problems),
            problems=problems,
            fix='give each rule a unique name: {"Families": "children > 0", …}.',
        )
    return pairs


class RulesSegmenter(BaseSegmenter):
    """Segments defined by named rules such as ``age between 22 and 35 and income > 50k``.

    ``rules`` is a mapping ``{name: rule}`` or a list of ``(name, rule)`` pairs, in order.
    With ``mode="first_match"`` each customer gets the first rule that matches (``other`` for
    the rest; ``other=None`` leaves them :data:`UNASSIGNED`), and ``memberships_`` has one
    ``True`` per matched customer. With ``mode="overlapping"`` ``labels_`` is still the first
    match, but ``memberships_`` keeps every rule a customer matches. ``as_of`` anchors
    relative dates (``within 90 days``); by default the latest date in the data.

    Fitted attributes: ``rules_`` (parsed :class:`Rule` objects), ``labels_`` (Series of
    labels, index ``customer_id``), ``matches_`` (every rule's own matches, booleans),
    ``memberships_`` (see above), ``as_of_``, ``other_`` (the label of unmatched customers)
    and ``features_`` (columns the rules read). The language is described in docs/rules.md.
    """

    def __init__(
        self,
        rules: Sequence[tuple[str, str]] | Mapping[str, str],
        *,
        mode: Literal["first_match", "overlapping"] = "first_match",
        other: str | None = "Other",
        as_of: datetime | None = None,
    ) -> None:
        self.rules = rules
        self.mode = mode
        self.other = other
        self.as_of = as_of

    # ---- parameters
    def _other_label(self, names: list[str]) -> str:
        if self.other is not None and (not isinstance(self.other, str) or not self.other):
            raise ModelError(
                "The 'other' parameter of RulesSegmenter must be a non-empty label or None. "
                f"Got {self.other!r}.",
                fix='use other="Other", or other=None to leave unmatched customers unassigned.',
            )
        label = UNASSIGNED if self.other is None else self.other
        if label in names:
            raise ModelError(
                f"The 'other' label of RulesSegmenter must differ from every rule name. Got "
                f"'{label}', which is also a rule.",
                fix="rename that rule or pass another other= label.",
            )
        return label

    def _params(self) -> tuple[list[tuple[str, str]], str, datetime | None]:
        pairs = _rule_pairs(self.rules)
        if self.mode not in _MODES:
            raise ModelError(
                "The 'mode' parameter of RulesSegmenter must be 'first_match' or "
                f"'overlapping'. Got {self.mode!r}.",
                fix="pass mode='first_match' (one segment each) or mode='overlapping'.",
            )
        as_of = to_as_of(self.as_of) if self.as_of is not None else None
        if self.as_of is not None and as_of is None:
            raise ModelError(
                "The 'as_of' parameter of RulesSegmenter must be a datetime, a date, an ISO "
                f"date such as '2024-12-31', or None. Got {self.as_of!r}.",
                fix="pass as_of=datetime(2024, 12, 31) or leave it out to use the latest date.",
            )
        return pairs, self._other_label([name for name, _ in pairs]), as_of

    # ---- evaluation
    @staticmethod
    def _latest_date(data: RuleInput) -> datetime | None:
        schema = data.table.schema()
        dated = [c for c in schema if column_kind(schema[c]) == "date"]
        if not dated:
            return None
        row = data.execute(
            data.table.aggregate(**{f"c{i}": data.table[c].max() for i, c in enumerate(dated)})
        )
        values = [pd.Timestamp(v) for v in row.iloc[0] if not pd.isna(v)]
        return to_as_of(max(values).to_pydatetime()) if values else None

    def _evaluate(
        self, rules: list[Rule], data: RuleInput, as_of: datetime | None, other: str
    ) -> tuple[pd.DataFrame, pd.Series]:
        matches = compile_rules(rules, data.table, as_of)
        columns = {f"m{i}": m for i, m in enumerate(matches.values())}
        frame = data.run(**columns, segment=first_match(matches, other))
        index = pd.Index(frame["customer_id"], name="customer_id")
        found = pd.DataFrame(
            {r.name: frame[f"m{i}"].to_numpy(dtype=bool) for i, r in enumerate(rules)},
            index=index,
        )
        labels = pd.Series(frame["segment"].to_numpy(), index=index, name="segment").astype(str)
        return found, labels

    def _memberships(self, found: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
        if self.mode == "overlapping":
            return found.copy()
        return pd.DataFrame(
            {name: (labels == name).to_numpy() for name in found.columns}, index=found.index
        )

    def fit(self, X: pd.DataFrame | ir.Table, y: Any = None) -> RulesSegmenter:
        """Check the rules against ``X``'s columns, evaluate them, and return ``self``."""
        pairs, other, as_of = self._params()
        with rule_input(X, "RulesSegmenter.fit") as data:
            rules = parse_rules(pairs, data.table.schema())
            relative = any(isinstance(n, Relative) for r in rules for n in walk(r.expr))
            if as_of is None and relative:
                as_of = self._latest_date(data)
            found, labels = self._evaluate(rules, data, as_of, other)
        if labels.empty:
            raise ModelError(
                "RulesSegmenter.fit needs at least one customer; the input has no rows.",
                fix="check the filter or file that produced the features.",
            )
        self.rules_ = rules
        self.as_of_ = as_of
        self.other_ = other
        self.features_ = list(dict.fromkeys(c for r in rules for c in columns_used(r)))
        self.matches_ = found
        self.memberships_ = self._memberships(found, labels)
        self.labels_ = labels
        return self

    def _apply(self, X: pd.DataFrame | ir.Table, where: str) -> tuple[pd.DataFrame, pd.Series]:
        self._check_fitted()
        pairs = [(r.name, r.text) for r in self.rules_]
        with rule_input(X, where) as data:
            rules = parse_rules(pairs, data.table.schema())
            return self._evaluate(rules, data, self.as_of_, self.other_)

    def predict(self, X: pd.DataFrame | ir.Table) -> pd.Series:
        """First-match labels for the customers of ``X`` (same as-of date as in ``fit``)."""
        return self._apply(X, "RulesSegmenter.predict")[1]

    def predict_memberships(self, X: pd.DataFrame | ir.Table) -> pd.DataFrame:
        """Booleans per rule for the customers of ``X``, shaped like ``memberships_``."""
        found, labels = self._apply(X, "RulesSegmenter.predict_memberships")
        return self._memberships(found, labels)

    def to_ibis(self, table: ir.Table) -> ir.Table:
        """``table`` plus a ``segment`` column (first-match CASE), for in-engine assignment."""
        self._check_fitted()
        rules = parse_rules([(r.name, r.text) for r in self.rules_], table.schema())
        return table.mutate(
            segment=first_match(compile_rules(rules, table, self.as_of_), self.other_)
        )

    def segmentation(self, name: str) -> Segmentation:
        """The fitted result; ``details`` has the rules, mode, match and overlap counts."""
        self._check_fitted()
        found = self.matches_.astype(int)
        overlaps = found.T @ found
        assigned = self.labels_.value_counts()
        warnings = []
        for rule in self.rules_:
            n_match, n_assigned = int(found[rule.name].sum()), int(assigned.get(rule.name, 0))
            if n_match == 0:
                warnings.append(f"Rule '{rule.name}' matches no customer.")
            elif n_assigned == 0 and self.mode == "first_match":
                warnings.append(
                    f"Rule '{rule.name}' matches {n_match} customers, but earlier rules take "
                    "all of them; move it up or use mode='overlapping'."
                )
        details = {
            "rules": {r.name: r.text for r in self.rules_},
            "mode": self.mode,
            "other": self.other_,
            "as_of": self.as_of_.isoformat() if self.as_of_ else None,
            "matches": {c: int(found[c].sum()) for c in found.columns},
            "assigned": {str(k): int(v) for k, v in assigned.items()},
            "overlaps": {a: {b: int(overlaps.loc[a, b]) for b in found} for a in found},
        }
        return Segmentation(
            name=name,
            method="rules",
            labels=self.labels_.copy(),
            features=list(self.features_),
            details=details,
            warnings=warnings,
        )

"""Minimum segment size and stability guard (M18): tiny or unstable segments are merged.

A segment is flagged when its share of customers is below ``min_share`` or its bootstrap
stability (mean best Jaccard overlap over resamples) is below ``min_stability``. With
``merge=True`` a flagged segment joins the nearest segment that is not flagged (distance
between centroids on the scaled features), smallest first; a merge never leaves fewer than
two segments, and a flagged segment with nothing to join is kept. Every flag is said in plain
words. Segments are numbered "1", "2", ... by size, largest first, before and after merging;
messages name a merged segment by its number before merging and its target by the final one.

>>> import numpy as np
>>> g = guard_segments(
...     sizes=np.array([600, 396, 4]), centroids=np.array([[0.0], [5.0], [4.0]])
... )
>>> g.labels
['1', '2', '2']
>>> print(g.warnings[0])
Segment 3 of the 3 found had 0.4 % of customers (below the 2 % minimum) and was merged into segment 2, the nearest.
>>> guard_summary(3, g.report)
'k = 3 chosen; 1 small segment merged → 2 segments'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GuardResult", "guard_segments", "guard_summary", "relabel_text"]


@dataclass(frozen=True)
class GuardResult:
    """``labels[i]``: final segment of input cluster ``i``; ``warnings``: plain messages;
    ``report``: one dict per flagged segment (segment, share, stability, reasons, action)."""

    labels: list[str]
    warnings: list[str] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)


def _rank(sizes: np.ndarray) -> np.ndarray:
    """rank[i] = 0 for the largest cluster (ties: lower index first)."""
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], i))
    rank = np.empty(len(sizes), dtype=int)
    rank[order] = np.arange(len(sizes))
    return rank


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %" if x < 0.1 else f"{100 * x:.0f} %"


def guard_segments(
    sizes: np.ndarray,
    centroids: np.ndarray,
    stability: np.ndarray | None = None,
    *,
    min_share: float = 0.02,
    min_stability: float = 0.5,
    merge: bool = True,
    total: int | None = None,
) -> GuardResult:
    """Flag (and merge) tiny or unstable clusters; see the module docstring.

    ``sizes`` and ``centroids`` describe the input clusters (any order); ``stability`` is the
    per-cluster Jaccard stability (NaN: unknown, never flagged); ``total`` is the number of
    customers for shares (default: the sum of sizes).
    """
    sizes = np.asarray(sizes, dtype="float64")
    k = len(sizes)
    total_n = float(total if total is not None else sizes.sum())
    share = sizes / max(total_n, 1.0)
    stab = np.full(k, np.nan) if stability is None else np.asarray(stability, dtype="float64")
    pre = _rank(sizes) + 1  # labels before merging
    reasons: dict[int, list[str]] = {}
    for i in range(k):
        why = []
        if share[i] < min_share:
            why.append(
                f"had {_pct(share[i])} of customers (below the {100 * min_share:g} % minimum)"
            )
        if not np.isnan(stab[i]) and stab[i] < min_stability:
            why.append(
                f"was unstable (bootstrap Jaccard similarity {stab[i]:.2f}, below the "
                f"{min_stability:g} minimum)"
            )
        if why:
            reasons[i] = why
    group = np.arange(k)  # group[i]: the cluster whose segment i ends up in
    merged_into: dict[int, int] = {}
    why_kept: dict[int, str] = {}
    for i in sorted(reasons, key=lambda j: (sizes[j], j)):
        alive = set(group.tolist())
        targets = [g for g in alive if g != i and g not in reasons]
        if not merge:
            why_kept[i] = "flagged only, not merged"
        elif not targets:
            why_kept[i] = "no segment without a flag to merge it into"
        elif len(alive) <= 2:
            why_kept[i] = "merging would leave a single segment"
        else:
            centres = {
                g: np.average(
                    centroids[group == g], axis=0, weights=np.maximum(sizes[group == g], 1e-12)
                )
                for g in targets
            }
            nearest = min(
                targets, key=lambda g: (float(np.sum((centres[g] - centroids[i]) ** 2)), g)
            )
            group[group == i] = nearest
            merged_into[i] = nearest
    final_sizes = np.array([sizes[group == g].sum() for g in range(k)])
    survivors = sorted(set(group.tolist()), key=lambda g: (-final_sizes[g], g))
    final = {g: str(n + 1) for n, g in enumerate(survivors)}
    labels = [final[int(group[i])] for i in range(k)]
    warnings: list[str] = []
    report: list[dict[str, Any]] = []
    for i in sorted(reasons, key=lambda j: pre[j]):
        why = reasons[i]
        reason = " and ".join(why)
        target = labels[i]
        if i in merged_into:
            action = "merged"
            glue = " and was" if len(why) == 1 else "; it was"
            text = (
                f"Segment {pre[i]} of the {k} found {reason}{glue} merged into segment "
                f"{target}, the nearest."
            )
        else:
            action = "kept"
            text = f"Segment {labels[i]} {reason}; it was kept ({why_kept[i]})."
        warnings.append(text)
        report.append(
            {
                "segment": str(pre[i]),
                "share": float(share[i]),
                "stability": None if np.isnan(stab[i]) else float(stab[i]),
                "reasons": list(why),
                "action": action,
                "final_segment": target,
            }
        )
    return GuardResult(labels=labels, warnings=warnings, report=report)


def _kind(entries: Sequence[Mapping[str, Any]]) -> str:
    """'small', 'unstable' or 'small or unstable': what the flagged segments had in common."""
    kinds = set()
    for e in entries:
        for reason in e.get("reasons") or []:
            kinds.add("unstable" if "unstable" in str(reason) else "small")
    return " or ".join(sorted(kinds)) if kinds else "flagged"


def _segments(n: int, kind: str) -> str:
    return f"{n} {kind} segment" + ("" if n == 1 else "s")


def guard_summary(chosen_k: int, report: Sequence[Mapping[str, Any]]) -> str:
    """The k the rule chose, then what the guard did, as one line for the report and terminal.

    ``report`` is :attr:`GuardResult.report`: e.g. ``'k = 8 chosen; 1 small segment merged →
    7 segments'``, or ``'k = 5 chosen'`` when nothing was flagged.
    """
    merged = [e for e in report if e.get("action") == "merged"]
    kept = [e for e in report if e.get("action") != "merged"]
    parts = [f"k = {chosen_k} chosen"]
    if merged:
        final = chosen_k - len(merged)
        parts.append(
            f"{_segments(len(merged), _kind(merged))} merged → {final} segment"
            + ("" if final == 1 else "s")
        )
    if kept:
        parts.append(f"{_segments(len(kept), _kind(kept))} flagged and kept")
    return "; ".join(parts)


_LABEL = re.compile(r"\b(merged into segment |^Segment )(\d+)\b(?! of the)")


def relabel_text(text: str, new: Callable[[str], str]) -> str:
    """A guard warning with its final segment labels renamed by ``new`` (the numbers of the
    clusters found before the guard, "Segment 3 of the 5 found", are left as they are).

    >>> relabel_text("Segment 3 of the 5 found was unstable and was merged into segment 2, "
    ...              "the nearest.", {"2": "7", "3": "9"}.get)
    'Segment 3 of the 5 found was unstable and was merged into segment 7, the nearest.'
    >>> relabel_text("Segment 2 had 1 %; it was kept (flagged only).", lambda x: "8")
    'Segment 8 had 1 %; it was kept (flagged only).'
    """
    return _LABEL.sub(lambda m: m.group(1) + new(m.group(2)), text)

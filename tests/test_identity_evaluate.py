"""Pairwise cluster scores: counted from cluster sizes, checked against listing every pair."""

from __future__ import annotations

import doctest
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from segmint.identity import evaluate
from segmint.identity.evaluate import PairScores, pair_errors, pairwise_scores


def brute_force(predicted: dict[str, str], truth: dict[str, str]) -> tuple[int, int, int]:
    """Predicted, true and shared pairs by listing every pair of truth's records."""
    records = sorted(truth)
    pred = {r: predicted.get(r, ("alone", r)) for r in records}
    p = t = both = 0
    for a, b in combinations(records, 2):
        same_p, same_t = pred[a] == pred[b], truth[a] == truth[b]
        p += same_p
        t += same_t
        both += same_p and same_t
    return p, t, both


def test_docstring_examples() -> None:
    assert doctest.testmod(evaluate).failed == 0


def test_hand_computed_example() -> None:
    # truth: {a,b,c} {d,e} {f}  → 3 + 1 = 4 true pairs
    truth = {"a": "T1", "b": "T1", "c": "T1", "d": "T2", "e": "T2", "f": "T3"}
    # predicted: {a,b} {c,d,e} {f}  → 1 + 3 = 4 pairs; correct: ab, de → 2
    predicted = {"a": "P1", "b": "P1", "c": "P2", "d": "P2", "e": "P2", "f": "P3"}
    s = pairwise_scores(predicted, truth)
    assert (s.predicted_pairs, s.true_pairs, s.true_positive_pairs) == (4, 4, 2)
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)


def test_perfect_and_degenerate_clusterings() -> None:
    truth = {"a": "x", "b": "x", "c": "y"}
    assert pairwise_scores(truth, truth) == PairScores(1.0, 1.0, 1.0, 1, 1, 1)
    # nothing linked: no wrong pair (precision 1), every true pair missed (recall 0)
    assert pairwise_scores({}, truth) == PairScores(1.0, 0.0, 0.0, 0, 1, 0)
    # everything in one cluster: every true pair found, 1 of 3 predicted pairs right
    lumped = pairwise_scores({"a": "z", "b": "z", "c": "z"}, truth)
    assert (lumped.precision, lumped.recall) == (1 / 3, 1.0)
    # labels are names only: renaming clusters changes nothing
    renamed = {"a": "q", "b": "q", "c": "r"}
    assert pairwise_scores(renamed, truth) == pairwise_scores(truth, truth)


def test_records_outside_truth_are_ignored_and_missing_ones_stand_alone() -> None:
    truth = {"a": "x", "b": "x", "c": "x"}
    s = pairwise_scores({"a": "1", "b": "1", "zz": "1"}, truth)  # c missing, zz unknown
    assert (s.predicted_pairs, s.true_pairs, s.true_positive_pairs) == (1, 3, 1)


def test_large_cluster_is_counted_not_listed() -> None:
    n = 200_000  # 19,999,900,000 pairs: far too many to list
    truth = {str(i): "one" for i in range(n)}
    s = pairwise_scores({str(i): str(i % 2) for i in range(n)}, truth)
    assert s.true_pairs == n * (n - 1) // 2
    assert s.predicted_pairs == s.true_positive_pairs == 2 * (n // 2) * (n // 2 - 1) // 2
    assert s.precision == 1.0 and 0.49 < s.recall < 0.51


labels = st.sampled_from(["A", "B", "C", "D", "E"])


@settings(max_examples=300, deadline=None)
@given(
    truth=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=2), labels, max_size=25),
    predicted=st.dictionaries(st.text("abcdefghij", min_size=1, max_size=2), labels, max_size=25),
)
def test_matches_brute_force_pair_listing(truth: dict[str, str], predicted: dict[str, str]) -> None:
    s = pairwise_scores(predicted, truth)
    p, t, both = brute_force(predicted, truth)
    assert (s.predicted_pairs, s.true_pairs, s.true_positive_pairs) == (p, t, both)
    assert s.precision == (both / p if p else 1.0)
    assert s.recall == (both / t if t else 1.0)
    assert 0.0 <= s.f1 <= 1.0
    assert min(s.precision, s.recall) <= s.f1 <= max(s.precision, s.recall)


@settings(max_examples=200, deadline=None)
@given(
    truth=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=2), labels, max_size=25),
    predicted=st.dictionaries(st.text("abcdefghij", min_size=1, max_size=2), labels, max_size=25),
)
def test_error_examples_are_real_errors_one_per_cluster(
    truth: dict[str, str], predicted: dict[str, str]
) -> None:
    pred = {r: predicted.get(r, ("alone", r)) for r in truth}
    errors = pair_errors(predicted, truth, limit=3)
    for a, b in errors.false_pairs:
        assert pred[a] == pred[b] and truth[a] != truth[b]
    for a, b in errors.missed_pairs:
        assert truth[a] == truth[b] and pred[a] != pred[b]
    mixed = {
        pred[r] for r in truth if any(pred[o] == pred[r] and truth[o] != truth[r] for o in truth)
    }
    split = {
        truth[r] for r in truth if any(truth[o] == truth[r] and pred[o] != pred[r] for o in truth)
    }
    assert len(errors.false_pairs) == min(3, len(mixed))
    assert len(errors.missed_pairs) == min(3, len(split))
    assert len({pred[a] for a, _ in errors.false_pairs}) == len(errors.false_pairs)

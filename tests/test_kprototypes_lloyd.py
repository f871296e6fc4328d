"""The Lloyd steps of k-prototypes (``cluster/_lloyd.py``: combined categorical codes, bounds
that skip settled rows, incremental cluster statistics) against plain Lloyd steps written
out here: every row scored against every prototype with the dissimilarity's definition,
means and modes recomputed from scratch. Continuous data has no exact ties, so the labels,
the prototypes, the number of steps and the cost must agree."""

from __future__ import annotations

import numpy as np
import pytest

from segmint.segment.cluster import _lloyd
from segmint.segment.cluster._lloyd import Data, _repair, lloyd


def plain_lloyd(
    data: Data, cnum: np.ndarray, ccat: np.ndarray, gamma: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    Z, codes, k = data.Z, data.codes, len(ccat)
    previous, n_iter = None, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        d = ((Z[:, None, :] - cnum[None]) ** 2).sum(axis=2)
        d += gamma * (codes[:, None, :] != ccat[None]).sum(axis=2)
        labels = d.argmin(axis=1)
        _repair(labels, d[np.arange(len(d)), labels], k)
        if previous is not None and np.array_equal(labels, previous):
            break
        cnum, ccat = cnum.copy(), ccat.copy()
        for c in range(k):
            members = labels == c
            if members.any():
                cnum[c] = Z[members].mean(axis=0)
                for j, q in enumerate(data.ncats):
                    ccat[c, j] = np.bincount(codes[members, j], minlength=q).argmax()
        previous = labels
    diff = Z - cnum[labels]
    cost = float((diff * diff).sum()) + gamma * float((codes != ccat[labels]).sum())
    return labels, cnum, ccat, n_iter, cost


def mixed(n: int, p: int, ncats: list[int], k: int, seed: int) -> Data:
    """Overlapping planted clusters: numeric centres N(0, 1.5), unit noise, a dominant level
    per cluster and column taken half the time."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(k, size=n)
    Z = rng.normal(0.0, 1.5, (k, p))[truth] + rng.normal(size=(n, p))
    codes = np.empty((n, len(ncats)), dtype=np.int32)
    for j, q in enumerate(ncats):
        dominant = rng.integers(q, size=k)
        codes[:, j] = np.where(rng.random(n) < 0.5, dominant[truth], rng.integers(q, size=n))
    return Data(np.ascontiguousarray(Z), codes, ncats)


def start(data: Data, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.random.default_rng(seed).choice(data.n, k, replace=False)
    return data.Z[rows].copy(), data.codes[rows].copy()


CASES = {
    "bench shape": (20_000, 5, [6, 6, 6], 5),
    "many levels: several code groups": (5_000, 3, [70, 90, 3, 120, 5_000], 4),
    "one numeric column, k = 9": (8_000, 1, [2, 5], 9),
    "categorical only": (3_000, 0, [4, 4, 4, 4], 3),
    "wide numeric": (4_000, 12, [3], 6),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounded_lloyd_equals_plain_lloyd(case: str, seed: int) -> None:
    n, p, ncats, k = CASES[case]
    data = mixed(n, p, ncats, k, seed)
    cnum, ccat = start(data, k, seed)
    gamma = 0.7
    run = lloyd(data, cnum, ccat, gamma, 100)
    labels, ref_num, ref_cat, n_iter, cost = plain_lloyd(data, cnum, ccat, gamma, 100)
    assert np.array_equal(run.labels, labels)
    assert run.n_iter == n_iter
    np.testing.assert_allclose(run.cnum, ref_num, rtol=1e-12, atol=1e-12)
    assert np.array_equal(run.ccat, ref_cat)
    assert run.cost == pytest.approx(cost, rel=1e-12)


def test_the_bounds_skip_most_rows_once_the_prototypes_settle(monkeypatch) -> None:
    data = mixed(30_000, 5, [6, 6, 6], 5, seed=3)
    scored: list[int] = []
    some = _lloyd._Scorer.some

    def counting(self, rows):  # type: ignore[no-untyped-def]
        scored.append(len(rows))
        return some(self, rows)

    monkeypatch.setattr(_lloyd._Scorer, "some", counting)
    run = lloyd(data, *start(data, 5, 3), 0.5, 100)
    assert run.n_iter > 5 and scored
    assert min(scored) < data.n // 20  # late steps score a small share of the rows


def test_max_iter_stops_with_the_prototypes_of_the_last_labels() -> None:
    data = mixed(5_000, 4, [5, 7], 6, seed=4)
    cnum, ccat = start(data, 6, 4)
    for max_iter in (1, 2, 3):
        run = lloyd(data, cnum, ccat, 1.3, max_iter)
        labels, ref_num, ref_cat, n_iter, cost = plain_lloyd(data, cnum, ccat, 1.3, max_iter)
        assert run.n_iter == n_iter == max_iter
        assert np.array_equal(run.labels, labels) and np.array_equal(run.ccat, ref_cat)
        np.testing.assert_allclose(run.cnum, ref_num, rtol=1e-12, atol=1e-12)
        assert run.cost == pytest.approx(cost, rel=1e-12)


def test_empty_cluster_and_unseen_prototype_codes_match_plain_lloyd() -> None:
    data = mixed(6_000, 3, [4, 5], 4, seed=5)
    cnum, ccat = start(data, 4, 5)
    cnum[3], ccat[3] = 1e3, -1  # far away, with codes no row has: empty, then reseeded
    run = lloyd(data, cnum, ccat, 0.5, 100)
    labels, ref_num, ref_cat, n_iter, cost = plain_lloyd(data, cnum, ccat, 0.5, 100)
    assert np.bincount(run.labels, minlength=4).min() > 0
    assert np.array_equal(run.labels, labels) and run.n_iter == n_iter
    assert np.array_equal(run.ccat, ref_cat) and run.cost == pytest.approx(cost, rel=1e-12)
    np.testing.assert_allclose(run.cnum, ref_num, rtol=1e-12, atol=1e-12)


def test_ties_end_at_a_fixed_point_of_lloyd() -> None:
    """Small integers: many rows exactly between two prototypes. Any tie-break is a valid
    Lloyd step; the result must still be one: each row at a nearest prototype, prototypes
    the means and modes of their rows."""
    rng = np.random.default_rng(6)
    Z = rng.integers(0, 3, (4_000, 2)).astype(float)
    data = Data(Z, rng.integers(0, 3, (4_000, 2)).astype(np.int32), [3, 3])
    run = lloyd(data, *start(data, 5, 6), 1.0, 100)
    assert run.n_iter < 100
    d = ((Z[:, None] - run.cnum[None]) ** 2).sum(axis=2)
    d += (data.codes[:, None] != run.ccat[None]).sum(axis=2)
    assert np.all(d[np.arange(len(d)), run.labels] <= d.min(axis=1) + 1e-9)
    for c in range(5):
        members = run.labels == c
        np.testing.assert_allclose(run.cnum[c], Z[members].mean(axis=0), rtol=1e-12)
        for j in range(2):
            table = np.bincount(data.codes[members, j], minlength=3)
            assert table[run.ccat[c, j]] == table.max()

"""Lloyd iterations of k-prototypes on encoded mixed data, with bounds that skip settled rows.

The dissimilarity is d(x, c) = ‖z − c_num‖² + γ · #{j : x_j ≠ c_j}. It is the squared
Euclidean distance after embedding every category as a one-hot vector scaled by √(γ/2) (a
prototype's unseen code −1 as one more category), so √d is a metric and the triangle
inequality bounds how far a row's distances can move when the prototypes move.

* **Categorical columns as one code.** Columns are grouped so that the product of their
  category counts stays at most :data:`_GROUP_CODES`; a row's codes in a group become one
  combined code (computed once per fit). Per iteration, a (k × codes) table holds γ times the
  mismatches of every combined code with every prototype, so the categorical part of all
  k distances is one gather per group instead of one comparison per column, and the modes
  come from one count table per group.
* **Bounds** (Hamerly 2010, with the gap form of the two bounds): every row keeps ``gap`` =
  a lower bound on √d to its second-nearest prototype minus an upper bound on √d to its own.
  When the prototypes move by δ (in the embedding), the gap shrinks by at most
  δ(own) + max δ. Only rows whose gap is no longer positive are scored again; the others
  provably keep their prototype. Each bound is widened by a margin of 1e-6 · (1 + ‖z‖ +
  max ‖c‖), which is far above the rounding error of d (about 1e-16 · (‖z‖ + ‖c‖)²), so a
  skipped row is one whose distances, however the full computation rounds them, pick the
  same prototype: the labels are those of plain Lloyd steps (up to exact ties, which any
  rounding may break either way).
* **Incremental updates.** Counts, numeric sums and category count tables per cluster are
  updated from the rows that changed cluster. Counts are integers (exact); sums are floats,
  and the final prototypes are recomputed from scratch (:func:`update`), so they are exactly
  the means and modes of the final labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["Data", "Run", "cost", "lloyd", "update"]

_BLOCK = 16_384  # rows per block of a full pass: the k × block scores stay in cache
_GROUP_CODES = 4_096  # combined codes per categorical group (tables are k × this)
_REL = 1e-6  # the bounds' margin, relative to ‖z‖ and ‖c‖ (module docstring)


@dataclass
class Data:
    """Standardized numeric values ``Z`` (n × p) and category codes ``codes`` (n × m)."""

    Z: np.ndarray
    codes: np.ndarray
    ncats: list[int]  # codes per categorical column (fit data: 0 … ncats − 1)

    @property
    def n(self) -> int:
        return len(self.codes)

    def take(self, rows: np.ndarray) -> Data:
        return Data(self.Z[rows], self.codes[rows], self.ncats)

    @cached_property
    def _prepared(self) -> _Prepared:
        return _Prepared(self)


@dataclass
class Run:
    labels: np.ndarray
    cnum: np.ndarray  # k × p prototype means (standardized)
    ccat: np.ndarray  # k × m prototype modes (codes)
    cost: float
    n_iter: int


@dataclass
class _Group:
    """Categorical columns ``cols`` coded together: ``combo`` per row, ``grid`` per code."""

    cols: list[int]
    shape: tuple[int, ...]
    combo: np.ndarray  # n (int32), the combined code of every row
    grid: np.ndarray  # codes × len(cols): the column codes of every combined code


@dataclass
class _Prepared:
    """What a fit derives from the data once: ‖z‖² and the combined codes."""

    data: Data
    zz: np.ndarray = field(init=False)
    groups: list[_Group] = field(init=False)

    def __post_init__(self) -> None:
        data = self.data
        self.zz = np.einsum("ij,ij->i", data.Z, data.Z)
        self.groups = []
        cols: list[int] = []
        for j, q in enumerate(data.ncats):
            if cols and math.prod(data.ncats[c] for c in cols) * q > _GROUP_CODES:
                self.groups.append(self._group(cols))
                cols = []
            cols.append(j)
        if cols or not self.groups:  # no categorical column: one group of a single code
            self.groups.append(self._group(cols))

    def _group(self, cols: list[int]) -> _Group:
        shape = tuple(max(self.data.ncats[j], 1) for j in cols)
        codes = self.data.codes[:, cols]
        if cols and len(codes):
            combo = np.ravel_multi_index(tuple(codes.T), shape)
        else:
            combo = np.zeros(len(codes), dtype=np.intp)
        if cols:
            grid = np.stack(np.unravel_index(np.arange(math.prod(shape)), shape), axis=1)
        else:
            grid = np.zeros((1, 0), dtype=np.intp)
        return _Group(cols, shape, combo.astype(np.int32), grid)

    # -- scores ----------------------------------------------------------------------------
    def tables(self, cnum: np.ndarray, ccat: np.ndarray, gamma: float) -> list[np.ndarray]:
        """Per group, the categorical part of d for every (prototype, combined code); the
        first table also holds ‖c‖²."""
        out = []
        for g in self.groups:
            miss = (g.grid[None, :, :] != ccat[:, None, g.cols]).sum(axis=2)
            out.append(gamma * miss)
        out[0] = out[0] + np.einsum("ij,ij->i", cnum, cnum)[:, None]
        return out

    def scores(
        self, c2: np.ndarray, tables: list[np.ndarray], rows: slice | np.ndarray
    ) -> np.ndarray:
        """d − ‖z‖² for the rows and every prototype (k × rows): −2 c·z + ‖c‖² + γ·mismatches."""
        # rows × k from the row-major Z, turned to k × rows (small, in cache) so that each
        # prototype's scores are contiguous for the loops that follow
        d: np.ndarray = np.ascontiguousarray((self.data.Z[rows] @ c2.T).T)
        for g, t in zip(self.groups, tables, strict=True):
            d += np.take(t, g.combo[rows], axis=1)
        return d

    def nearest_two(
        self, c2: np.ndarray, tables: list[np.ndarray], rows: slice | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest prototype (first on ties, as argmin), its d and the second-smallest d."""
        d = self.scores(c2, tables, rows)
        best, second = d[0].copy(), np.full(d.shape[1], np.inf)
        lab = np.zeros(d.shape[1], dtype=np.intp)
        for c in range(1, len(d)):
            closer = d[c] < best
            np.minimum(second, np.where(closer, best, d[c]), out=second)
            np.minimum(best, d[c], out=best)
            lab[closer] = c
        zz = self.zz[rows]
        return lab, best + zz, second + zz


def _gaps(d1: np.ndarray, d2: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """Lower bound on √d to the second-nearest prototype minus an upper bound on √d to the
    nearest, each widened by ``margin`` (and its square under the root)."""
    slack = margin * margin
    low = np.sqrt(np.maximum(d2 - slack, 0.0))
    return low - np.sqrt(np.maximum(d1, 0.0) + slack) - 2.0 * margin


def _moves(
    old_num: np.ndarray, old_cat: np.ndarray, cnum: np.ndarray, ccat: np.ndarray, gamma: float
) -> np.ndarray:
    """How far every prototype moved in the embedding (√ of d between old and new)."""
    diff = cnum - old_num
    return np.sqrt(np.einsum("ij,ij->i", diff, diff) + gamma * (ccat != old_cat).sum(axis=1))


# -- cluster statistics ----------------------------------------------------------------------
@dataclass
class _Stats:
    counts: np.ndarray  # k
    sums: np.ndarray  # k × p
    tables: list[np.ndarray]  # per group: k × codes category counts

    @classmethod
    def of(cls, prep: _Prepared, labels: np.ndarray, k: int) -> _Stats:
        Z = prep.data.Z
        sums = np.empty((k, Z.shape[1]))
        for j in range(Z.shape[1]):
            sums[:, j] = np.bincount(labels, weights=Z[:, j], minlength=k)
        tables = [
            np.bincount(labels * len(g.grid) + g.combo, minlength=k * len(g.grid)).reshape(k, -1)
            for g in prep.groups
        ]
        return cls(np.bincount(labels, minlength=k), sums, tables)

    def move(self, prep: _Prepared, rows: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Rows ``rows`` leave clusters ``old`` for clusters ``new``."""
        k = len(self.counts)
        self.counts += np.bincount(new, minlength=k) - np.bincount(old, minlength=k)
        moved = prep.data.Z[rows]
        for j in range(moved.shape[1]):
            w = moved[:, j]
            self.sums[:, j] += np.bincount(new, w, minlength=k) - np.bincount(old, w, minlength=k)
        for g, t in zip(prep.groups, self.tables, strict=True):
            q, combo = len(g.grid), g.combo[rows]
            flat = t.reshape(-1)
            flat += np.bincount(new * q + combo, minlength=k * q)
            flat -= np.bincount(old * q + combo, minlength=k * q)

    def prototypes(
        self, prep: _Prepared, cnum: np.ndarray, ccat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Means and modes (first code on ties); an empty cluster keeps its prototype."""
        full = self.counts > 0
        new_num, new_cat = cnum.copy(), ccat.copy()
        new_num[full] = self.sums[full] / self.counts[full, None]
        for g, t in zip(prep.groups, self.tables, strict=True):
            cube = t.reshape(len(t), *g.shape)
            for i, j in enumerate(g.cols):
                other = tuple(a + 1 for a in range(len(g.cols)) if a != i)
                new_cat[full, j] = cube.sum(axis=other).argmax(axis=1)[full]
        return new_num, new_cat


def update(
    data: Data, labels: np.ndarray, cnum: np.ndarray, ccat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Means and modes of the clusters from scratch (an empty cluster keeps its prototype)."""
    prep = data._prepared
    return _Stats.of(prep, labels, len(ccat)).prototypes(prep, cnum, ccat)


# -- the iterations --------------------------------------------------------------------------
def _repair(labels: np.ndarray, nearest: np.ndarray, k: int) -> np.ndarray:
    """Reseed every empty cluster at the row farthest from its prototype (in place); return
    the rows moved."""
    counts = np.bincount(labels, minlength=k)
    moved: list[int] = []
    order = iter(np.argsort(-nearest, kind="stable"))
    for c in np.flatnonzero(counts == 0):
        for i in order:
            if nearest[i] <= 0:  # every row sits on its prototype: nothing to move
                return np.array(moved, dtype=np.intp)
            if counts[labels[i]] > 1:
                counts[labels[i]] -= 1
                labels[i], counts[c], nearest[i] = c, 1, 0.0
                moved.append(int(i))
                break
    return np.array(moved, dtype=np.intp)


class _Scorer:
    """Scores rows against fixed prototypes: labels, d to the nearest and the gaps."""

    def __init__(self, prep: _Prepared, cnum: np.ndarray, ccat: np.ndarray, gamma: float):
        self.prep, self.c2 = prep, -2.0 * cnum
        self.tables = prep.tables(cnum, ccat, gamma)
        self.extra = _REL * float(np.sqrt(np.einsum("ij,ij->i", cnum, cnum).max(initial=0.0)))

    def rows(self, rows: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lab, d1, d2 = self.prep.nearest_two(self.c2, self.tables, rows)
        margin = _REL * (1.0 + np.sqrt(self.prep.zz[rows])) + self.extra
        return lab, d1, _gaps(d1, d2, margin)

    def all(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labels, d1, gap = np.empty(n, dtype=np.intp), np.empty(n), np.empty(n)
        for s in range(0, n, _BLOCK):
            part = slice(s, min(n, s + _BLOCK))
            labels[part], d1[part], gap[part] = self.rows(part)
        return labels, d1, gap

    def some(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels, gap = np.empty(len(rows), dtype=np.intp), np.empty(len(rows))
        for s in range(0, len(rows), _BLOCK):
            part = slice(s, s + _BLOCK)
            labels[part], _, gap[part] = self.rows(rows[part])
        return labels, gap


def lloyd(data: Data, cnum: np.ndarray, ccat: np.ndarray, gamma: float, max_iter: int) -> Run:
    """Lloyd steps from the prototypes (``cnum``, ``ccat``) until no label changes or
    ``max_iter`` assignments; an empty cluster is reseeded at the row farthest from its
    prototype. The same steps as scoring every row every time (see the module docstring)."""
    prep, n, k = data._prepared, data.n, len(ccat)
    labels, _, gap = _Scorer(prep, cnum, ccat, gamma).all(n)
    stats: _Stats | None = None
    changed, n_iter = True, 1
    while True:
        if (np.bincount(labels, minlength=k) if stats is None else stats.counts).min() == 0:
            # rare: the repair needs every row's exact distance to its prototype
            fresh, nearest, gap = _Scorer(prep, cnum, ccat, gamma).all(n)
            changed = changed or not np.array_equal(fresh, labels)
            labels = fresh
            repaired = _repair(labels, nearest, k)
            gap[repaired] = -np.inf  # scored again next time
            changed, stats = changed or len(repaired) > 0, None
        if n_iter > 1 and not changed:
            break
        if stats is None:
            stats = _Stats.of(prep, labels, k)
        old_num, old_cat = cnum, ccat
        cnum, ccat = stats.prototypes(prep, cnum, ccat)
        if n_iter == max_iter:
            break
        n_iter += 1
        # the assignment: only rows whose bounds no longer settle them are scored
        delta = _moves(old_num, old_cat, cnum, ccat, gamma)
        gap -= (delta + delta.max())[labels]
        todo = np.flatnonzero(gap <= 0.0)
        scorer = _Scorer(prep, cnum, ccat, gamma)
        if len(todo) > n // 3:  # most rows: one pass in blocks beats gathering them
            fresh, _, gap = scorer.all(n)
            todo = np.flatnonzero(fresh != labels)
            new = fresh[todo]
        else:
            new, gap[todo] = scorer.some(todo)
            keep = new != labels[todo]
            todo, new = todo[keep], new[keep]
        changed = len(todo) > 0
        if changed:
            stats.move(prep, todo, labels[todo], new)
            labels[todo] = new
    cnum, ccat = update(data, labels, cnum, ccat)  # exactly the final labels' means and modes
    return Run(labels, cnum, ccat, cost(data, labels, cnum, ccat, gamma), n_iter)


def cost(data: Data, labels: np.ndarray, cnum: np.ndarray, ccat: np.ndarray, gamma: float) -> float:
    """Σ d(row, its prototype)."""
    total, block = 0.0, 65_536
    for s in range(0, data.n, block):
        lab = labels[s : s + block]
        diff = data.Z[s : s + block] - cnum[lab]
        miss = int((data.codes[s : s + block] != ccat[lab]).sum())
        total += float((diff * diff).sum()) + gamma * miss
    return total

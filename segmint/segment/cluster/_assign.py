"""Assignment rules of fitted models, in numpy and as Ibis expressions (same arithmetic).

An assigner scores every component for every customer (higher is better) and picks the best;
``to_ibis`` on the segmenters builds the same scores in the engine, so assignment can run as
SQL. Two rules cover the methods here:

* :class:`CentroidAssigner`: nearest centroid by squared Euclidean distance on the scaled
  features (k-means, HDBSCAN with an optional radius beyond which a customer is unassigned);
* :class:`GaussianAssigner`: highest weighted log-density of a Gaussian mixture.

>>> import numpy as np
>>> a = CentroidAssigner(np.array([[0.0, 0.0], [10.0, 10.0]]))
>>> a.assign(np.array([[1.0, 1.0], [9.0, 8.0]])).tolist()
[0, 1]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np

__all__ = ["Assigner", "CentroidAssigner", "GaussianAssigner"]

_CHUNK = 65_536


class Assigner(ABC):
    """Scores components; ``assign`` returns the index of the best one (-1: none)."""

    n_components: int
    _has_radius = False

    @property
    @abstractmethod
    def centres(self) -> np.ndarray:
        """(n_components, d) component centres on the scaled features."""

    @abstractmethod
    def scores(self, Z: np.ndarray) -> np.ndarray:
        """(n, n_components) scores, higher is better."""

    @abstractmethod
    def ibis_scores(self, z: Sequence[ir.FloatingValue]) -> list[ir.FloatingValue]:
        """The same scores as Ibis expressions of the scaled feature columns ``z``."""

    def _accept(self, best: np.ndarray, score: np.ndarray) -> np.ndarray:
        return best

    def assign(self, Z: np.ndarray) -> np.ndarray:
        """Best component per row, computed in chunks to bound memory."""
        out = np.full(len(Z), -1, dtype=np.int64)
        if self.n_components == 0:
            return out
        for start in range(0, len(Z), _CHUNK):
            s = self.scores(Z[start : start + _CHUNK])
            best = np.argmax(s, axis=1)
            out[start : start + _CHUNK] = self._accept(best, s[np.arange(len(s)), best])
        return out

    def ibis_assign(self, scores: Sequence[ir.FloatingValue]) -> ir.IntegerValue:
        """Index of the best score (first on ties, as numpy's argmax), from score columns."""
        if not scores:
            return ibis.literal(-1, type="int64")
        if len(scores) == 1 and not self._has_radius:
            return ibis.literal(0, type="int64")
        best = scores[0] if len(scores) == 1 else ibis.greatest(*scores)
        branches = [(s == best, self._ibis_accept(i, s)) for i, s in enumerate(scores)]
        out: ir.IntegerValue = ibis.cases(*branches, else_=-1)
        return out

    def _ibis_accept(self, i: int, score: ir.FloatingValue) -> ir.IntegerValue:
        return ibis.literal(i, type="int64")


class CentroidAssigner(Assigner):
    """Nearest centroid; with ``radius`` (per centroid), farther customers get -1."""

    def __init__(self, centroids: np.ndarray, radius: np.ndarray | None = None) -> None:
        self.centroids = np.asarray(centroids, dtype="float64")
        self.radius = None if radius is None else np.asarray(radius, dtype="float64")
        self.n_components = len(self.centroids)
        self._has_radius = radius is not None

    @property
    def centres(self) -> np.ndarray:
        return self.centroids

    def scores(self, Z: np.ndarray) -> np.ndarray:
        diff = Z[:, None, :] - self.centroids[None, :, :]
        out: np.ndarray = -np.einsum("nkd,nkd->nk", diff, diff)
        return out

    def ibis_scores(self, z: Sequence[ir.FloatingValue]) -> list[ir.FloatingValue]:
        out = []
        for c in self.centroids:
            terms = [(zj - float(cj)) ** 2 for zj, cj in zip(z, c, strict=True)]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            out.append(-total)
        return out

    def _accept(self, best: np.ndarray, score: np.ndarray) -> np.ndarray:
        if self.radius is None:
            return best
        return np.where(-score <= self.radius[best] ** 2, best, -1)

    def _ibis_accept(self, i: int, score: ir.FloatingValue) -> ir.IntegerValue:
        if self.radius is None:
            return super()._ibis_accept(i, score)
        out: ir.IntegerValue = ibis.ifelse(-score <= float(self.radius[i]) ** 2, i, -1)
        return out


class GaussianAssigner(Assigner):
    """Most likely mixture component: ``log w + log|P| - ½ ‖(z - μ) P‖²`` (P: precision
    Cholesky factor, as scikit-learn's ``precisions_cholesky_`` for full covariances)."""

    def __init__(self, weights: np.ndarray, means: np.ndarray, prec_chol: np.ndarray) -> None:
        self.log_weights = np.log(np.asarray(weights, dtype="float64"))
        self.means = np.asarray(means, dtype="float64")
        self.prec_chol = np.asarray(prec_chol, dtype="float64")
        self.log_det = np.log(np.diagonal(self.prec_chol, axis1=1, axis2=2)).sum(axis=1)
        self.n_components = len(self.means)

    @property
    def centres(self) -> np.ndarray:
        return self.means

    def scores(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty((len(Z), self.n_components))
        for j in range(self.n_components):
            y = (Z - self.means[j]) @ self.prec_chol[j]
            out[:, j] = self.log_weights[j] + self.log_det[j] - 0.5 * np.einsum("nd,nd->n", y, y)
        return out

    def ibis_scores(self, z: Sequence[ir.FloatingValue]) -> list[ir.FloatingValue]:
        out = []
        d = len(z)
        for j in range(self.n_components):
            centred = [zc - float(self.means[j, c]) for c, zc in enumerate(z)]
            squares = []
            for i in range(d):
                y = centred[0] * float(self.prec_chol[j, 0, i])
                for c in range(1, d):
                    y = y + centred[c] * float(self.prec_chol[j, c, i])
                squares.append(y**2)
            quad = squares[0]
            for sq in squares[1:]:
                quad = quad + sq
            const = float(self.log_weights[j] + self.log_det[j])
            out.append(const - 0.5 * quad)
        return out

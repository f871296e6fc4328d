"""Does a fitted likelihood have a finite maximum? Judged from the solution, not the optimizer.

Where the maximum-likelihood estimate does not exist (spend that never varies within a
customer sends the Gamma-Gamma p to infinity and v to 0; a purchase model without
heterogeneity sends r and α to infinity together), the log-likelihood rises towards a
supremum along a ridge that leads out of the parameter space. Where an optimizer stops on such
a ridge depends on its floating-point path (BLAS kernels, thread counts, start point): on one
machine it reports success at p ≈ 3e6, on another it stops at p ≈ 5e8 or hits its bounds. So
the optimizer's own verdict is not used. Instead, at the point it returns:

1. the observed information (the Hessian of −ln L in log-parameters) names the directions the
   data pin down weakly: an eigenvalue ≤ 0, non-finite entries, or a standard error in log
   space above :data:`SE_LOG_LIMIT`. Where the gradient is not ≈ 0 (the optimizer stopped on
   its way, e.g. near the edge of its box, where the slope and the curvature along a ridge
   shrink together), every eigen-direction is checked;
2. along each such direction, both ways, the *profile* likelihood is taken :data:`REACH` log
   units away (a factor e¹⁰ ≈ 22,000 in the parameters; less where the box of the fit ends),
   maximizing over the other directions. If it is no more than :data:`LR_DROP` below the best
   value (the 95 % likelihood-ratio bound, χ²₁(0.95)/2), the data cannot bound the parameters
   in that direction: there is no finite maximum worth reporting.

A well-determined estimate falls by far more than 1.92 that far away (by ½·(10/se)² in the
quadratic approximation), so the verdict does not hinge on where exactly the optimizer stopped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

__all__ = ["LR_DROP", "REACH", "SE_LOG_LIMIT", "unbounded_direction"]

#: a direction whose standard error in log space exceeds this is checked with the profile
SE_LOG_LIMIT = 1.0
#: how far (in log-parameters) the profile likelihood is taken
REACH = 10.0
#: χ²₁(0.95) / 2: a profile this close to the best value is "flat"
LR_DROP = 1.92

#: mean negative log-likelihood in log-parameters, and its gradient
Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def unbounded_direction(
    objective: Objective,
    x: np.ndarray,
    hessian: np.ndarray,
    *,
    n: float,
    box: tuple[float, float],
    stationary: bool,
) -> np.ndarray | None:
    """A unit direction (log-parameters) along which the likelihood from ``x`` never falls by
    :data:`LR_DROP`, or None when every direction is bounded.

    ``objective`` is the mean negative log-likelihood (``n`` rows) with its gradient,
    ``hessian`` that of the total at ``x``, ``box`` the optimizer's bounds on each coordinate,
    ``stationary`` whether the gradient at ``x`` is ≈ 0.
    """
    f0 = objective(x)[0]
    for d in _weak_directions(hessian, everyone=not stationary):
        # the way whose profile falls least (rises most); each question is asked with the
        # least work that answers it: is it within LR_DROP, does it rise at all, by how much
        flat = _reaching(objective, x, d, box, [1.0, -1.0], f0 + LR_DROP / n)
        if len(flat) == 2:
            flat = _reaching(objective, x, d, box, flat, f0) or flat
        if len(flat) == 2:
            flat.sort(key=lambda w: _profile(objective, x, w * d, box))
        if flat:
            return flat[0] * d
    return None


def _reaching(
    objective: Objective,
    x: np.ndarray,
    d: np.ndarray,
    box: tuple[float, float],
    ways: list[float],
    level: float,
) -> list[float]:
    """The ``ways`` along ``d`` whose profile comes down to ``level``."""
    return [w for w in ways if _profile(objective, x, w * d, box, level) <= level]


def _weak_directions(hessian: np.ndarray, *, everyone: bool) -> list[np.ndarray]:
    """Eigen-directions of the information with a huge (or no) standard error (all of them
    with ``everyone``), weakest first; the coordinate axes when the Hessian is not finite."""
    k = len(hessian)
    if not np.all(np.isfinite(hessian)):
        return list(np.eye(k))
    values, vectors = np.linalg.eigh(hessian)
    weak = (values <= 1.0 / SE_LOG_LIMIT**2) | everyone
    return [vectors[:, i] for i in np.flatnonzero(weak)]


def _reach(x: np.ndarray, d: np.ndarray, box: tuple[float, float]) -> float:
    """How far along ``d`` from ``x`` before a coordinate leaves ``box`` (at most REACH)."""
    lo, hi = box
    moving = np.abs(d) > 1e-12
    room = np.where(d[moving] > 0, hi - x[moving], lo - x[moving]) / d[moving]
    return float(min(REACH, room.min(initial=REACH)))


class _Reached(Exception):
    """The profile came down to the level asked about: no need to minimize further."""


def _profile(
    objective: Objective,
    x: np.ndarray,
    d: np.ndarray,
    box: tuple[float, float],
    level: float = -np.inf,
) -> float:
    """min over the directions orthogonal to ``d`` of the objective at x + t·d, t the
    :func:`_reach` along ``d`` (+∞ when ``d`` leaves the box at once).

    The search stops at the first point at or below ``level``: whether a direction is flat
    is then seen after a step or two instead of a whole minimization."""
    t = _reach(x, d, box)
    if t <= 0:
        return np.inf
    basis = np.linalg.svd(d[None, :])[2][1:].T  # k × (k−1), orthonormal, ⟂ d
    origin = x + t * d

    def inner(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, g = objective(origin + basis @ z)
        if value <= level:
            raise _Reached(value)
        return value, basis.T @ g

    try:
        with np.errstate(all="ignore"):
            res = minimize(
                inner,
                np.zeros(basis.shape[1]),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 200, "ftol": 1e-12, "gtol": 1e-8},
            )
    except _Reached as reached:
        return float(reached.args[0])
    return float(min(res.fun, objective(origin)[0]))

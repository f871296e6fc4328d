"""Maximum likelihood on log-parameters, shared by the value models.

``fit_mle`` minimizes the mean negative log-likelihood over log-parameters (so every parameter
stays positive) with L-BFGS-B and an analytic gradient, then takes standard errors from the
observed information: the Hessian of the total negative log-likelihood, by central differences
of the analytic gradient, inverted in log space and carried to the natural scale by the delta
method (se(θ) = θ · se(log θ)). Non-convergence raises :class:`ModelError` with a fix; it is
never returned silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from segmint.exceptions import ModelError

__all__ = ["MLEResult", "fit_mle"]

#: (total log-likelihood, its gradient with respect to the natural parameters)
LogLik = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class MLEResult:
    params: np.ndarray
    standard_errors: np.ndarray
    log_likelihood: float
    iterations: int


def fit_mle(
    loglik: LogLik,
    start: np.ndarray,
    *,
    n: float,
    names: tuple[str, ...],
    model: str,
    penalizer: float = 0.0,
) -> MLEResult:
    """Maximize ``loglik`` (minus ``penalizer`` · Σθ²) from ``start``; ``n`` scales the objective."""

    def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(log_theta)
        ll, grad = loglik(theta)
        value = -(ll - penalizer * float(theta @ theta)) / n
        g = -(grad - 2.0 * penalizer * theta) * theta / n
        if not np.isfinite(value) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(log_theta)
        return value, g

    with np.errstate(all="ignore"):
        res = minimize(
            objective,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * len(start),
            options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9},
        )
    theta = np.exp(res.x)
    at_bound = np.abs(res.x) >= 20.0 - 1e-6
    if not np.isfinite(res.fun) or at_bound.any() or not (res.success or _flat(objective, res.x)):
        where = ", ".join(f"{k} = {v:.4g}" for k, v in zip(names, theta, strict=True))
        reason = (
            "a parameter ran off to 0 or infinity"
            if at_bound.any()
            else f"the optimizer stopped: {res.message}"
        )
        raise ModelError(
            f"The {model} fit did not converge ({reason}; last values {where}).",
            fix="give more customers or a longer history, or fit with a small penalizer "
            "(e.g. penalizer=0.001) to keep the parameters finite.",
        )
    ll = -float(res.fun) * n + penalizer * float(theta @ theta)
    return MLEResult(theta, _standard_errors(loglik, res.x, penalizer), ll, int(res.nit))


def _flat(objective: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray) -> bool:
    """L-BFGS-B may stop on 'ABNORMAL' line searches at an optimum: accept a tiny gradient."""
    _, g = objective(x)
    return bool(np.all(np.abs(g) < 1e-5))


def _standard_errors(loglik: LogLik, log_theta: np.ndarray, penalizer: float) -> np.ndarray:
    def grad_log(x: np.ndarray) -> np.ndarray:
        theta = np.exp(x)
        _, g = loglik(theta)
        return -(g - 2.0 * penalizer * theta) * theta

    k = len(log_theta)
    h = np.empty((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = 1e-5
        h[:, i] = (grad_log(log_theta + step) - grad_log(log_theta - step)) / 2e-5
    h = (h + h.T) / 2.0
    try:
        cov = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    var = np.diag(cov)
    se_log = np.sqrt(np.where(var > 0, var, np.nan))
    return np.asarray(np.exp(log_theta) * se_log)

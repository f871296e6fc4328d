"""Simulate repeat-purchase summaries from known BG/NBD, Pareto/NBD and Gamma-Gamma parameters.

For checking that the fits recover what generated the data, and for benchmarks. Per customer:
λ ~ Gamma(r, rate α) and p ~ Beta(a, b); repeat purchases arrive as a Poisson process with rate
λ after the first purchase at time 0, and after each repeat purchase the customer drops out
with probability p. So the number of repeat purchases before drop-out is J ~ Geometric(p),
x = min(N(T), J) with N(T) ~ Poisson(λT), and, given N(T) = n, the purchase times are uniform
order statistics on (0, T]: t_x = T · Beta(x, n − x + 1). Spend: ν ~ Gamma(q, rate γ) per
customer and each transaction ~ Gamma(p_spend, rate ν).

>>> s = simulate_summary(1000, r=0.243, alpha=4.414, a=0.793, b=2.426, T=38.86, seed=0)
>>> list(s.columns), len(s), bool((s.recency <= s["T"]).all())
(['frequency', 'recency', 'T', 'monetary_value', 'revenue'], 1000, True)

Pareto/NBD (:func:`simulate_paretonbd_summary`): λ ~ Gamma(r, rate α) and μ ~ Gamma(s, rate β)
per customer; the lifetime τ ~ Exponential(μ); repeat purchases arrive as a Poisson process
with rate λ while alive, so x ~ Poisson(λ · min(τ, T)) and, given x > 0, the last purchase is
the largest of x uniform times on (0, min(τ, T)]: t_x = min(τ, T) · U^(1/x).

>>> p = simulate_paretonbd_summary(1000, r=0.55, alpha=10.58, s=0.61, beta=11.67, T=38.86)
>>> list(p.columns), len(p), bool((p.recency <= p["T"]).all()), p.attrs["unit"]
(['frequency', 'recency', 'T'], 1000, True, 'weeks')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_paretonbd_summary", "simulate_summary"]


def simulate_summary(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | np.ndarray,
    spend: tuple[float, float, float] = (6.25, 3.74, 15.44),
    seed: int = 0,
    unit: str = "weeks",
) -> pd.DataFrame:
    """``n`` customers' (frequency, recency, T, monetary_value, revenue) summary.

    ``T`` is one age for all or an array of ages; ``spend`` is Gamma-Gamma (p, q, γ).
    """
    rng = np.random.default_rng(seed)
    ages = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * ages)
    before_drop = rng.geometric(np.clip(drop, 1e-12, 1.0))
    x = np.minimum(arrivals, before_drop)
    safe_x = np.maximum(x, 1)
    t_x = np.where(x > 0, ages * rng.beta(safe_x, np.maximum(arrivals - x + 1, 1)), 0.0)
    p_s, q_s, g_s = spend
    nu = rng.gamma(q_s, 1.0 / g_s, n)
    total_repeat = np.where(x > 0, rng.gamma(p_s * safe_x, 1.0 / nu), 0.0)
    first = rng.gamma(p_s, 1.0 / nu)
    out = pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": t_x,
            "T": ages,
            "monetary_value": np.where(x > 0, total_repeat / safe_x, 0.0),
            "revenue": first + total_repeat,
        },
        index=pd.Index([f"S{i:07d}" for i in range(n)], name="customer_id"),
    )
    out.attrs["unit"] = unit
    return out


def simulate_paretonbd_summary(
    n: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: float | np.ndarray,
    seed: int = 0,
    unit: str = "weeks",
) -> pd.DataFrame:
    """``n`` customers' (frequency, recency, T) summary from the Pareto/NBD model.

    ``T`` is one age for all or an array of ages.
    """
    rng = np.random.default_rng(seed)
    ages = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    alive_for = np.minimum(rng.exponential(1.0, n) / np.maximum(mu, 1e-300), ages)
    x = rng.poisson(lam * alive_for)
    last = alive_for * rng.uniform(size=n) ** (1.0 / np.maximum(x, 1))
    out = pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": np.where(x > 0, last, 0.0),
            "T": ages,
        },
        index=pd.Index([f"P{i:07d}" for i in range(n)], name="customer_id"),
    )
    out.attrs["unit"] = unit
    return out

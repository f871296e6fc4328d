"""Benchmark: segmint's BG/NBD + Gamma-Gamma + CLV against ``lifetimes`` on 10M customers.

    .venv/bin/python bench/bench_value.py                    # 10,000,000 customers
    .venv/bin/python bench/bench_value.py --customers 100000 --no-write

Targets (issue 19): on 10,000,000 customers, segmint's three steps ≤ 20 s in total and ≥ 30×
faster than lifetimes doing the same, in the same run, at equal log-likelihood (before: ≤ 3 s
and ≥ 15× on 1,000,000). lifetimes needs several minutes and a few GB there (its peak RSS is
in the table).

Data: a repeat-purchase summary simulated from the CDNOW parameters
(``segmint.segment.value.simulate.simulate_summary``: r 0.243, α 4.414, a 0.793, b 2.426,
spend p 6.25, q 3.74, γ 15.44), customers' ages spread uniformly over 0–2 years, times in
weeks rounded to whole days as real order dates are. Generated inside each child (not timed).

Contenders, each in a fresh Python process (peak RSS is its own VmHWM):

* ``segmint``    ``BetaGeoModel().fit``, ``GammaGammaModel().fit`` (repeat buyers), ``clv`` over
                 12 steps of 4.345 weeks at 1 % a step (the annual equivalent)
* ``lifetimes``  ``BetaGeoFitter().fit``, ``GammaGammaFitter().fit`` (repeat buyers),
                 ``customer_lifetime_value(time=12, discount_rate=0.01, freq="W")``

Both fit by maximum likelihood from their own defaults; the table shows each one's total
log-likelihood (computed by segmint's functions for both, so they are comparable) and the
largest relative CLV difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import peak_rss_mb, write_section  # noqa: E402

STEP_WEEKS = 4.345


def data(n: int):  # type: ignore[no-untyped-def]
    from segmint.segment.value.simulate import simulate_summary

    rng = np.random.default_rng(0)
    days = rng.integers(1, 731, n)
    s = simulate_summary(
        n, r=0.243, alpha=4.414, a=0.793, b=2.426, T=days / 7.0, seed=1, unit="weeks"
    )
    s["recency"] = np.floor(s["recency"] * 7) / 7  # whole days
    return s


def loglik(s, bg: dict, gg: dict) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    from segmint.segment.value.bgnbd import bgnbd_log_likelihood
    from segmint.segment.value.gammagamma import gamma_gamma_log_likelihood

    x, t_x, T = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
    ll_bg = bgnbd_log_likelihood(np.array([bg[k] for k in ("r", "alpha", "a", "b")]), x, t_x, T)
    rep = s[s["frequency"] > 0]
    ll_gg = gamma_gamma_log_likelihood(
        np.array([gg[k] for k in ("p", "q", "v")]),
        rep["frequency"].to_numpy(),
        rep["monetary_value"].to_numpy(),
    )
    return float(ll_bg[0].sum()), float(ll_gg[0].sum())


def child(name: str, n: int, out: str) -> None:
    s = data(n)
    rep = s[s["frequency"] > 0]
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    if name == "segmint":
        from segmint.segment.value import BetaGeoModel, GammaGammaModel, clv

        bg = BetaGeoModel().fit(s)
        times["bgnbd"] = time.perf_counter() - t0
        t = time.perf_counter()
        gg = GammaGammaModel().fit(rep)
        times["gamma_gamma"] = time.perf_counter() - t
        t = time.perf_counter()
        step = STEP_WEEKS * 7
        values = clv(
            bg,
            gg,
            s,
            horizon_days=12 * step,
            discount_rate=1.01 ** (365.25 / step) - 1,
            step_days=step,
        )["clv"].to_numpy()
        times["clv"] = time.perf_counter() - t
        bg_p, gg_p = bg.params_, gg.params_
    else:
        import warnings

        warnings.filterwarnings("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        f, r, T = (s[c].to_numpy() for c in ("frequency", "recency", "T"))
        bgf = BetaGeoFitter().fit(f, r, T)
        times["bgnbd"] = time.perf_counter() - t0
        t = time.perf_counter()
        ggf = GammaGammaFitter().fit(rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy())
        times["gamma_gamma"] = time.perf_counter() - t
        t = time.perf_counter()
        values = np.asarray(
            ggf.customer_lifetime_value(
                bgf,
                s["frequency"],
                s["recency"],
                s["T"],
                s["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="W",
            ),
            dtype=float,
        )
        times["clv"] = time.perf_counter() - t
        bg_p = {k: float(v) for k, v in bgf.params_.items()}
        gg_p = {k: float(v) for k, v in ggf.params_.items()}
    total = time.perf_counter() - t0
    ll_bg, ll_gg = loglik(s, bg_p, gg_p)
    np.save(out + ".npy", values)
    Path(out).write_text(
        json.dumps(
            {
                **times,
                "total": total,
                "ll_bgnbd": ll_bg,
                "ll_gg": ll_gg,
                "bgnbd_params": bg_p,
                "gg_params": gg_p,
                "rss": peak_rss_mb(),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md untouched")
    ap.add_argument("--child", nargs=3, metavar=("NAME", "N", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    load = os.getloadavg()[0]
    results = {}
    for name in ("segmint", "lifetimes"):
        out = f"/tmp/segmint_bench_value_{name}.json"
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--child", name, str(args.customers), out], check=True
        )
        results[name] = json.loads(Path(out).read_text()) | {"wall": time.perf_counter() - t0}
        results[name]["clv_values"] = np.load(out + ".npy")
        print(name, {k: v for k, v in results[name].items() if k != "clv_values"}, flush=True)
    seg, ref = results["segmint"], results["lifetimes"]
    rel = np.abs(seg["clv_values"] - ref["clv_values"]) / np.maximum(
        np.abs(ref["clv_values"]), 1e-9
    )
    table = render(args.customers, results, float(np.nanmax(rel)), load)
    print(table)
    if not args.no_write:
        write_section("value", table)


def render(n: int, results: dict, max_rel: float, load: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        "## Value models: BG/NBD + Gamma-Gamma + 12-month CLV vs lifetimes",
        "",
        f"Command: `.venv/bin/python bench/bench_value.py --customers {n}`. Measured {when} on "
        f"this {os.cpu_count()}-core machine (1-min load average at start: {load:.1f}). "
        "Simulated summary from the CDNOW parameters (see the script's "
        "docstring); each contender in a fresh process; *total* = the three steps; log-"
        "likelihoods of both contenders' estimates computed by one function.",
        "",
        "| contender | BG/NBD fit s | Gamma-Gamma fit s | CLV s | total s | wall s | BG/NBD LL | "
        "Gamma-Gamma LL | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['bgnbd']:.2f} | {r['gamma_gamma']:.2f} | {r['clv']:.2f} | "
            f"{r['total']:.2f} | {r['wall']:.1f} | {r['ll_bgnbd']:,.1f} | {r['ll_gg']:,.1f} | "
            f"{r['rss']:,.0f} |"
        )
    seg, ref = results["segmint"], results["lifetimes"]
    speed = ref["total"] / seg["total"]
    met = "met" if seg["total"] <= 20 and speed >= 30 else "NOT met"
    if n < 10_000_000:
        met = "not judged at this size"
    lines += [
        "",
        f"- {n:,} customers: segmint total {seg['total']:.2f} s, lifetimes {ref['total']:.2f} s: "
        f"**{speed:.1f}× faster**. Target (issue 19, on 10,000,000 customers): ≤ 20 s and ≥ 30× "
        f"lifetimes: {met}.",
        f"- Log-likelihood difference (segmint − lifetimes): BG/NBD "
        f"{seg['ll_bgnbd'] - ref['ll_bgnbd']:+.3f}, Gamma-Gamma {seg['ll_gg'] - ref['ll_gg']:+.3f}"
        f" (≥ 0: segmint's estimate is at least as likely). Largest relative CLV difference "
        f"per customer: {max_rel:.2e}.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

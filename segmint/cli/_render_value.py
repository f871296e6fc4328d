"""Rich output of ``segmint value``: the fitted models, the holdout check, the value tiers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from segmint.cli._common import console


def _params(title: str, model: Any) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("parameter", "estimate", "std. error"):
        t.add_column(col, justify="left" if col == "parameter" else "right")
    for name, value in model.params_.items():
        t.add_row(name, f"{value:.4f}", f"{model.standard_errors_[name]:.4f}")
    t.caption = f"log-likelihood {model.log_likelihood_:,.2f} on {model.n_customers_:,} customers"
    return t


def value_result(seg: Any, holdout: Any, unit: str, out: Path | None) -> None:
    console.print(_params(f"{seg.bgnbd_.label} (time in {unit})", seg.bgnbd_))
    console.print(_params("Gamma-Gamma (spend per purchase)", seg.gamma_gamma_))
    ind = seg.gamma_gamma_.independence_
    console.print(
        f"Frequency–spend correlation {ind['correlation']:+.2f} "
        + ("(small: the independence assumption holds)" if ind["ok"] else "(not small!)")
    )
    for w in seg.warnings_:
        console.print(f"[yellow]Warning:[/] {w}")
    if holdout is not None:
        t = Table(
            title=f"Holdout check: purchases in the last {holdout.duration:.1f} {unit}, "
            "predicted from the period before",
            title_justify="left",
        )
        for col in ("purchases before", "customers", "predicted (mean)", "actual (mean)"):
            t.add_column(col, justify="right")
        for row in holdout.buckets.to_dict("records"):
            t.add_row(
                row["frequency"],
                f"{row['customers']:,}",
                f"{row['predicted']:.2f}",
                f"{row['actual']:.2f}",
            )
        console.print(t)
        console.print(
            f"Mean absolute error per customer: {holdout.mae:.3f} purchases; total predicted "
            f"{holdout.total_predicted:,.0f} vs actual {holdout.total_actual:,.0f} "
            f"({holdout.total_error:+.1%})."
        )
    values, labels = seg.values_, seg.labels_
    t = Table(
        title=f"Value segments (CLV over {seg.horizon_days:g} days, "
        f"{seg.discount_rate:.0%} a year discount)",
        title_justify="left",
    )
    for col in ("segment", "customers", "mean CLV", "total CLV", "mean P(alive)"):
        t.add_column(col, justify="left" if col == "segment" else "right")
    grouped = values.groupby(labels)
    order = grouped["clv"].mean().sort_values(ascending=False).index
    for label in order:
        g = grouped.get_group(label)
        t.add_row(
            str(label),
            f"{len(g):,}",
            f"{g['clv'].mean():,.2f}",
            f"{g['clv'].sum():,.0f}",
            f"{g['p_alive'].mean():.2f}",
        )
    console.print(t)
    if out is not None:
        console.print(f"Per-customer values: {out}")

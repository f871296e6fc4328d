"""The vectorized generator core: customers' personas and timelines, and their order lines.

Both :func:`segmint.datasets.make_retail` and :func:`segmint.datasets.write_orders_parquet` draw
customers and orders chunk by chunk through :func:`iter_chunks`, so for the same seed and chunk
size they produce the same orders. Everything is numpy/pyarrow arithmetic over whole chunks:
there is no Python loop per customer, order or line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.datasets._catalog import CATALOG
from segmint.datasets._personas import CATEGORIES, CHANNELS, PERSONAS, persona_matrix

__all__ = [
    "DAY",
    "DEFAULT_CHUNK",
    "DEFAULT_LINES_PER_CUSTOMER",
    "ORDERS_SCHEMA",
    "Chunk",
    "Period",
    "id_strings",
    "iter_chunks",
    "pick_rows",
]

DAY = 86_400
DEFAULT_CHUNK = 100_000
#: average order lines per customer that the persona parameters produce (scale 1.0).
DEFAULT_LINES_PER_CUSTOMER = 20.0
#: Dirichlet concentration of each customer's own channel and category mix around the persona's.
_CONCENTRATION = 30.0
#: order status probabilities: paid, refunded, cancelled.
_STATUS = ("paid", "refunded", "cancelled")
_STATUS_P = (0.955, 0.03, 0.015)
#: probability that a paid line is returned later (separate negative line), per category.
_RETURN_RATE = {"electronics": 0.04, "fashion": 0.09, "beauty": 0.01, "home": 0.02, "kids": 0.02}

ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("ordered_at", pa.timestamp("us")),
        ("product_id", pa.string()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("quantity", pa.float64()),
        ("unit_price", pa.float64()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("discount", pa.float64()),
        ("channel", pa.string()),
        ("status", pa.string()),
        ("returned", pa.bool_()),
    ]
)

_PRODUCTS = [sorted(CATALOG[c], key=lambda item: item[1]) for c in CATEGORIES]
_N_PRODUCTS = len(_PRODUCTS[0])
_PRODUCT_IDS = pa.array(
    [f"{c[:2].upper()}-{i + 1:03d}" for c in CATEGORIES for i in range(_N_PRODUCTS)]
)
_PRODUCT_NAMES = pa.array([name for items in _PRODUCTS for name, _ in items])
_PRODUCT_PRICES = np.array([price for items in _PRODUCTS for _, price in items])
_PRODUCT_CATEGORY = pa.array(np.repeat(np.array(CATEGORIES), _N_PRODUCTS).tolist())
_RETURN_P = np.repeat([_RETURN_RATE.get(c, 0.0) for c in CATEGORIES], _N_PRODUCTS)


@dataclass(frozen=True)
class Period:
    """The simulated period as epoch seconds: ``start`` inclusive, ``end`` exclusive."""

    start: int
    end: int

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        """Period from ISO dates; ``end`` is the last day included.

        >>> p = Period.parse("2024-01-01", "2024-01-31")
        >>> (p.end - p.start) // DAY
        31
        """
        s = int(np.datetime64(start, "s").astype(np.int64))
        e = int(np.datetime64(end, "s").astype(np.int64)) + DAY
        if e - s < 30 * DAY:
            raise ValueError(f"the period {start}..{end} must span at least 30 days")
        return cls(s, e)

    @property
    def span(self) -> int:
        return self.end - self.start

    @property
    def lapse_end(self) -> int:
        """Last moment a Lapsed customer may buy: 330 days before the end (or early on)."""
        return max(self.end - 330 * DAY, self.start + self.span // 5)


@dataclass(frozen=True)
class Chunk:
    """One chunk of customers (global 0-based ``index``) and their order lines."""

    index: np.ndarray
    persona: np.ndarray
    signup: np.ndarray
    active_from: np.ndarray
    active_to: np.ndarray
    orders: pa.Table


def id_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers like ``C000042`` from integers, built by pyarrow (no Python loop).

    >>> id_strings("C", np.array([42]), 6).to_pylist()
    ['C000042']
    """
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1), vectorized."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _dirichlet_rows(rng: np.random.Generator, means: np.ndarray) -> np.ndarray:
    g = rng.gamma(_CONCENTRATION * means + 1e-3)
    return g / g.sum(axis=1, keepdims=True)


def _personas_for(rng: np.random.Generator, n: int) -> np.ndarray:
    """Exactly the persona shares (largest remainder), in random order."""
    shares = np.array([p.share for p in PERSONAS])
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(counts - raw, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(PERSONAS), dtype=np.int8), counts))


def _timeline(
    rng: np.random.Generator, persona: np.ndarray, period: Period
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signup time and the window in which each customer buys (epoch seconds)."""
    lo, hi = persona_matrix("signup").T[:, persona]
    signup = period.start + ((lo + rng.random(len(persona)) * (hi - lo)) * period.span)
    signup = signup.astype(np.int64)
    lapsed = np.array([p.lapsed for p in PERSONAS])[persona]
    lead = min(30 * DAY, period.span // 10)
    signup = np.where(lapsed, np.minimum(signup, period.lapse_end - lead), signup)
    active_from = np.maximum(signup, period.start)
    burst = ((60 + rng.random(len(persona)) * 120) * DAY).astype(np.int64)
    active_to = np.where(
        lapsed, np.minimum(active_from + burst, period.lapse_end), period.end - 3600
    )
    return signup, active_from, active_to


def _orders(
    rng: np.random.Generator,
    persona: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
    customer_ids: pa.Array,
    *,
    period: Period,
    scale: float,
    order_offset: int,
    order_width: int,
) -> tuple[pa.Table, int]:
    n = len(persona)
    # orders per customer and their times, sorted by time
    mn, mean, mx = persona_matrix("orders").T
    first = np.maximum(1, np.round(mn * scale))
    n_orders = first[persona] + rng.poisson((scale * (mean - mn))[persona])
    n_orders = np.minimum(n_orders, np.maximum(first, np.ceil(mx * scale))[persona])
    cust = np.repeat(np.arange(n), n_orders.astype(np.int64))
    width = (active_to - active_from)[cust]
    when = active_from[cust] + (rng.random(len(cust)) * width).astype(np.int64)
    order = np.argsort(when, kind="stable")
    cust, when = cust[order], when[order]
    channel = pick_rows(rng, _dirichlet_rows(rng, persona_matrix("channels")[persona])[cust])
    status = np.searchsorted(np.cumsum(_STATUS_P), rng.random(len(cust)) * sum(_STATUS_P))

    # lines
    p_order = persona[cust]
    n_lines = 1 + rng.poisson(np.array([p.extra_lines for p in PERSONAS])[p_order])
    line_order = np.repeat(np.arange(len(cust)), n_lines)
    lp = p_order[line_order]
    cat_pref = _dirichlet_rows(rng, persona_matrix("categories")[persona])
    category = pick_rows(rng, cat_pref[cust[line_order]])
    a, b = persona_matrix("price_beta").T
    rank = np.minimum((rng.beta(a[lp], b[lp]) * _N_PRODUCTS).astype(np.int64), _N_PRODUCTS - 1)
    product = category * _N_PRODUCTS + rank
    quantity = 1.0 + rng.poisson(np.array([p.extra_units for p in PERSONAS])[lp])
    unit_price = _PRODUCT_PRICES[product]
    d_p, d_lo, d_hi = persona_matrix("discount").T
    rate = np.where(
        rng.random(len(lp)) < d_p[lp], d_lo[lp] + rng.random(len(lp)) * (d_hi - d_lo)[lp], 0.0
    )
    discount = np.round(quantity * unit_price * rate, 2)
    amount = np.round(quantity * unit_price - discount, 2)
    l_status = status[line_order]
    returned = np.zeros(len(lp), dtype=bool)
    l_when = when[line_order]

    # returns: a later, separate line with negative quantity and amount (refunded)
    ret = np.flatnonzero((l_status == 0) & (rng.random(len(lp)) < _RETURN_P[product]))
    back = l_when[ret] + ((2 + rng.random(len(ret)) * 26) * DAY).astype(np.int64)
    back = np.minimum(back, period.end - 1)
    line_order = np.concatenate([line_order, line_order[ret]])
    product = np.concatenate([product, product[ret]])
    paid_unit = np.round(amount[ret] / quantity[ret], 2)
    amount = np.concatenate([amount, np.round(-quantity[ret] * paid_unit, 2)])
    quantity = np.concatenate([quantity, -quantity[ret]])
    unit_price = np.concatenate([unit_price, paid_unit])
    discount = np.concatenate([discount, np.zeros(len(ret))])
    l_status = np.concatenate([l_status, np.full(len(ret), 1)])
    returned = np.concatenate([returned, np.ones(len(ret), dtype=bool)])
    l_when = np.concatenate([l_when, back])

    srt = np.argsort(l_when, kind="stable")
    line_order, product, l_when = line_order[srt], product[srt], l_when[srt]
    order_ids = id_strings("O", order_offset + 1 + np.arange(len(cust)), order_width)
    products = pa.array(product)
    columns = [
        order_ids.take(pa.array(line_order)),
        customer_ids.take(pa.array(cust[line_order])),
        pa.array((l_when * 1_000_000).view("datetime64[us]")),
        _PRODUCT_IDS.take(products),
        _PRODUCT_NAMES.take(products),
        _PRODUCT_CATEGORY.take(products),
        pa.array(quantity[srt]),
        pa.array(unit_price[srt]),
        pa.array(amount[srt]),
        pa.array(["EUR"]).take(pa.array(np.zeros(len(srt), dtype=np.int8))),
        pa.array(discount[srt]),
        pa.array(CHANNELS).take(pa.array(channel[line_order])),
        pa.array(_STATUS).take(pa.array(l_status[srt])),
        pa.array(returned[srt]),
    ]
    return pa.Table.from_arrays(columns, schema=ORDERS_SCHEMA), len(cust)


def iter_chunks(
    n_customers: int,
    *,
    seed: int,
    period: Period,
    chunk_customers: int = DEFAULT_CHUNK,
    lines_per_customer: float = DEFAULT_LINES_PER_CUSTOMER,
) -> Iterator[Chunk]:
    """Customers and their order lines, ``chunk_customers`` at a time.

    Chunk ``k`` draws from ``numpy.random.default_rng([seed, 1, k])``, so the output depends only
    on the arguments. ``lines_per_customer`` scales every persona's order frequency.

    >>> chunk = next(iter_chunks(100, seed=1, period=Period.parse("2023-01-01", "2024-12-31")))
    >>> len(chunk.persona), chunk.orders.column_names[:2]
    (100, ['order_id', 'customer_id'])
    """
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    scale = lines_per_customer / DEFAULT_LINES_PER_CUSTOMER
    id_width = max(6, len(str(n_customers)))
    order_width = max(8, len(str(int(60 * n_customers * max(scale, 1.0)))))
    order_offset = 0
    for k, lo in enumerate(range(0, n_customers, chunk_customers)):
        rng = np.random.default_rng([seed, 1, k])
        index = np.arange(lo, min(lo + chunk_customers, n_customers), dtype=np.int64)
        persona = _personas_for(rng, len(index))
        signup, active_from, active_to = _timeline(rng, persona, period)
        orders, n_orders = _orders(
            rng,
            persona,
            active_from,
            active_to,
            id_strings("C", index + 1, id_width),
            period=period,
            scale=scale,
            order_offset=order_offset,
            order_width=order_width,
        )
        order_offset += n_orders
        yield Chunk(index, persona, signup, active_from, active_to, orders)

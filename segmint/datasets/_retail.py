"""A synthetic shop with five planted customer segments: :func:`make_retail` and its writers."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from segmint.datasets._activity import draw_needs, make_campaigns, make_events, make_feedback
from segmint.datasets._core import (
    DEFAULT_CHUNK,
    DEFAULT_LINES_PER_CUSTOMER,
    ORDERS_SCHEMA,
    Period,
    id_strings,
    iter_chunks,
)
from segmint.datasets._people import make_customers
from segmint.datasets._personas import NEEDS, PERSONAS

__all__ = ["RetailSample", "make_retail", "write_orders_parquet", "write_retail"]

FileFormat = Literal["csv", "parquet"]
TABLES = ("customers", "orders", "events", "feedback", "campaigns", "campaign_contacts")


@dataclass(frozen=True, eq=False)
class RetailSample:
    """The tables of one synthetic shop, plus the planted segment of every customer.

    ``truth`` (customer_id, persona, need) is the answer key (``need``: the planted needs
    group behind the survey answers, for every customer; only respondents reveal it); it is not a shop export, so
    :meth:`to_files` leaves it out unless asked.
    """

    customers: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    feedback: pd.DataFrame
    campaigns: pd.DataFrame
    campaign_contacts: pd.DataFrame
    truth: pd.DataFrame
    personas: dict[str, str] = field(default_factory=dict)

    def tables(self, *, include_truth: bool = False) -> dict[str, pd.DataFrame]:
        """The tables by name, in a stable order.

        >>> list(make_retail(50).tables())[:2]
        ['customers', 'orders']
        """
        names = (*TABLES, "truth") if include_truth else TABLES
        return {name: getattr(self, name) for name in names}

    def to_files(
        self,
        directory: str | Path,
        format: FileFormat = "csv",
        *,
        include_truth: bool = False,
    ) -> dict[str, Path]:
        """Write one file per table (``orders.csv``, ``customers.csv``, ...); returns the paths.

        >>> import tempfile
        >>> paths = make_retail(50).to_files(tempfile.mkdtemp(), "parquet")
        >>> sorted(p.name for p in paths.values())[:2]
        ['campaign_contacts.parquet', 'campaigns.parquet']
        """
        if format not in ("csv", "parquet"):
            raise ValueError(f"format must be 'csv' or 'parquet', not {format!r}")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, frame in self.tables(include_truth=include_truth).items():
            path = out / f"{name}.{format}"
            if format == "csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)
            paths[name] = path
        return paths


def make_retail(
    n_customers: int = 2000,
    *,
    seed: int = 0,
    start: str = "2023-01-01",
    end: str = "2024-12-31",
) -> RetailSample:
    """A deterministic synthetic shop with five planted customer segments (personas).

    ``start`` and ``end`` are the first and last day of the simulated period (at least 30
    days). The same arguments always give identical tables; another seed gives other ones.

    >>> sample = make_retail(200, seed=1)
    >>> len(sample.customers), sorted(sample.truth["persona"].unique())[0]
    (200, 'Bargain Hunters')
    >>> sample.orders.columns[:3].tolist()
    ['order_id', 'customer_id', 'ordered_at']
    """
    period = Period.parse(start, end)
    chunks = list(iter_chunks(n_customers, seed=seed, period=period))
    persona = np.concatenate([c.persona for c in chunks])
    signup = np.concatenate([c.signup for c in chunks])
    active_from = np.concatenate([c.active_from for c in chunks])
    active_to = np.concatenate([c.active_to for c in chunks])
    ids = pd.Series(
        id_strings("C", np.arange(1, n_customers + 1), max(6, len(str(n_customers)))).to_numpy(
            zero_copy_only=False
        ),
        dtype="str",
    )
    orders = pa.concat_tables([c.orders for c in chunks]).to_pandas()
    if len(chunks) > 1:
        orders = orders.sort_values("ordered_at", kind="stable", ignore_index=True)

    def rng(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, 2, stream])

    customers = make_customers(rng(1), ids, persona, signup, period)
    events = make_events(rng(2), ids, persona, active_from, active_to, period)
    need, levels = draw_needs(rng(7), persona)
    feedback = make_feedback(rng(3), ids, persona, levels, active_from, active_to, period)
    campaigns, contacts = make_campaigns(rng(4), customers, persona, period)
    names = np.array([p.name for p in PERSONAS], dtype=object)
    truth = pd.DataFrame(
        {
            "customer_id": ids,
            "persona": pd.Series(names[persona], dtype="str"),
            "need": pd.Series(np.array(list(NEEDS), dtype=object)[need], dtype="str"),
        }
    )
    return RetailSample(
        customers=customers,
        orders=orders,
        events=events,
        feedback=feedback,
        campaigns=campaigns,
        campaign_contacts=contacts,
        truth=truth,
        personas={p.name: p.description for p in PERSONAS},
    )


def write_retail(
    directory: str | Path,
    n_customers: int = 2000,
    *,
    seed: int = 0,
    format: FileFormat = "csv",
) -> dict[str, Path]:
    """``make_retail(n_customers, seed=seed).to_files(directory, format)``.

    >>> import tempfile
    >>> sorted(write_retail(tempfile.mkdtemp(), 50))[:3]
    ['campaign_contacts', 'campaigns', 'customers']
    """
    return make_retail(n_customers, seed=seed).to_files(directory, format)


def write_orders_parquet(
    path: str | Path,
    n_customers: int,
    *,
    seed: int = 0,
    lines_per_customer: float = DEFAULT_LINES_PER_CUSTOMER,
    chunk_customers: int = DEFAULT_CHUNK,
    start: str = "2023-01-01",
    end: str = "2024-12-31",
) -> int:
    """Stream only the orders table of a large shop to one Parquet file; returns the lines written.

    Customers are generated ``chunk_customers`` at a time with the same personas and generator
    core as :func:`make_retail`, so memory stays bounded by one chunk. ``lines_per_customer``
    is the approximate average number of order lines per customer: it scales every persona's
    order frequency (20 is the natural rate; then the rows equal ``make_retail``'s orders for
    the same seed, in the same order up to ``chunk_customers`` customers). Generating a chunk
    overlaps with writing the previous one.

    >>> import tempfile, os
    >>> write_orders_parquet(os.path.join(tempfile.mkdtemp(), "o.parquet"), 100) > 100
    True
    """
    if lines_per_customer <= 0:
        raise ValueError("lines_per_customer must be positive")
    period = Period.parse(start, end)
    written = 0
    with (
        pq.ParquetWriter(str(path), ORDERS_SCHEMA, compression="snappy") as writer,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        pending: Future[None] | None = None
        for chunk in iter_chunks(
            n_customers,
            seed=seed,
            period=period,
            chunk_customers=chunk_customers,
            lines_per_customer=lines_per_customer,
        ):
            if pending is not None:
                pending.result()
            table: pa.Table = chunk.orders
            pending = pool.submit(writer.write_table, table)
            written += table.num_rows
        if pending is not None:
            pending.result()
    return written

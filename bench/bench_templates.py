"""Benchmark: message templates rendered into a Mailchimp export (M12).

    .venv/bin/python bench/bench_templates.py                  # 100,000 customers
    .venv/bin/python bench/bench_templates.py --customers 1000000

Setup (not timed): a workspace holding ``--customers`` customers (e-mail, first name from 2,000
names and some missing, city) in two segments of one stored run, as ``segmint run`` stores it.

Measured (best of 3, wall clock):

* ``none``    the Mailchimp export of both segments without templates (no message columns);
* ``names``   with a subject and body that read ``first_name``, ``city`` and segment/plan
              fields: rendered once per distinct (first name, city), the common case;
* ``unique``  with a body that reads ``email``: every row renders (the worst case);
* ``render``  the rendering alone of ``unique`` (``rendered_messages``), without the file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segmint.activate.contacts import build_contacts  # noqa: E402
from segmint.activate.export import export_audience  # noqa: E402
from segmint.activate.templates import rendered_messages  # noqa: E402
from segmint.store.results import Plan, SegmentationResult  # noqa: E402
from tests.activate_support import make_workspace  # noqa: E402

SUBJECT = 'Hi {{ first_name or "there" }}, {{ plan.offer }}'
BODY = (
    'Hi {{ first_name or "there" }},\n\n{{ plan.message }}'
    "{% if city %} Our {{ city }} store is waiting.{% endif %}\n\n— {{ segment.name }}"
)


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    n = parser.parse_args().customers
    rng = np.random.default_rng(0)
    names = np.array([f"Name{i}" for i in range(2000)] + [None] * 200, dtype=object)
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i:08d}" for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "first_name": rng.choice(names, n),
            "city": rng.choice(np.array(["Berlin", "Paris", "Lyon", None], dtype=object), n),
            "consent_email": True,
        }
    )
    segments = {c: ("A" if i % 2 else "B") for i, c in enumerate(customers["customer_id"])}
    base = Plan(goal="win back", offer="10% off", message="We miss you.")
    plans = {
        "none": {},
        "names": {"A": base.model_copy(update={"subject": SUBJECT, "body": BODY})}
        | {"B": base.model_copy(update={"subject": SUBJECT, "body": BODY})},
        "unique": {
            lab: base.model_copy(update={"subject": SUBJECT, "body": "{{ email }}: " + BODY})
            for lab in ("A", "B")
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        for case, plan in plans.items():
            store = make_workspace(
                Path(tmp) / f"{case}.duckdb", customers, segments, names={"A": "Lapsed"}, plans=plan
            )
            out = Path(tmp) / f"{case}.csv"
            took = best(
                lambda store=store, out=out: export_audience(
                    store, segmentation="seg", segments=["A", "B"], destination="mailchimp", out=out
                )
            )
            print(f"{case:8s} export of {n:,} rows: {took:.2f} s")
            if case == "unique":
                con = store.db
                row = con.execute("SELECT result FROM segmentations").fetchone()
                assert row is not None
                result = SegmentationResult.from_json(row[0])
                build_contacts(
                    con, "_bench", run_id="0001-segment", segmentation="seg", segments=["A", "B"]
                )
                took = best(
                    lambda con=con, result=result: rendered_messages(
                        con, "_bench", result, ["A", "B"], where="true"
                    )
                )
                print(f"render   {n:,} subjects and bodies: {took:.2f} s")
            store.close()


if __name__ == "__main__":
    main()

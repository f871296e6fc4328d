"""Benchmark: exporting a 1M-customer segment as a Google Ads Customer Match file.

    .venv/bin/python bench/bench_export.py                        # 1,000,000 customers
    .venv/bin/python bench/bench_export.py --customers 20000 --no-write

Target (issue 11): the Google file of a 1M-customer segment is written in under 5 s.

Setup (not timed): a workspace whose ``customers`` table holds ``--customers`` customers in
the segment of interest plus a quarter as many in another segment, generated in DuckDB SQL as
``clean`` leaves them (e-mails, a tenth with upper-case letters and spaces around; E.164 phones
for 70%; first and last names with accents; ISO countries; postal codes with leading zeros;
a city, region, gender and birth date; ads and e-mail consent true for 85%, false for 10%,
missing for 5%), and one segment run
stored as ``segmint run`` stores one (``runs``, ``segmentations``, ``segment_assignments``).

Each contender runs in a fresh process (opening the workspace is not in *export s*; *wall*
is the whole process, imports included; peak RSS is the process's VmHWM). All three write the
same Google file, and the script checks that their SHA-256 are equal:

* ``segmint google-ads``  ``export_audience(..., destination="google-ads")`` (hashed, default):
  contacts normalized in SQL, consent and identifier filters counted, file written by DuckDB,
  hashed, logged in ``exports`` and ``export_members``; per-step times by wrapping its steps;
* ``pandas + hashlib``    the obvious script: read segment members joined with customers into
  pandas with DuckDB, keep ads consent, lower/strip, ``hashlib.sha256`` per value,
  ``to_csv``;
* ``duckdb COPY``         one hand-written ``COPY (SELECT … sha256(…) …) TO`` (the floor);
* ``segmint <other>``     every other destination registered (``all_exporters()``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import peak_rss_mb, write_section  # noqa: E402

SEGMENTATION, SEGMENT, OTHER = "rfm", "champions", "others"
GOOGLE = "google-ads"
TARGET_S = 5.0

# ---------------------------------------------------------------------------------------------
# Setup (not timed)
# ---------------------------------------------------------------------------------------------

FIRST = [
    "José", "Zoë", "Anna", "Łukasz", "François", "Jürgen", "Søren", "Inès", "Mary", "Ahmed",
    "Chloé", "Björn", "Renée", "Ólafur", "Małgorzata", "Noël", "Élodie", "James", "Ana María",
    "Dvořák",
]  # fmt: skip
LAST = [
    "Müller", "García", "Smith", "Nowak", "Dupont", "O'Brien", "Öztürk", "Schäfer", "Brontë",
    "Løvik", "Jones", "Fernández", "Kowalczyk", "Lefèvre", "Nuñez", "van der Berg", "Åström",
    "Wiśniewska", "Brown", "Đorđević",
]  # fmt: skip
DOMAINS = ["gmail.com", "yahoo.co.uk", "web.de", "orange.fr", "outlook.com", "example.org"]
# country, E.164 prefix, national significant digits, postal code SQL (i = row number)
COUNTRIES = [
    ("US", "+1", 10, "lpad(CAST(i % 99950 + 501 AS VARCHAR), 5, '0')", "New York", "New York"),
    ("GB", "+44", 10, "'SW' || (i % 20 + 1) || ' ' || (i % 9 + 1) || 'AA'", "London", "England"),
    ("DE", "+49", 10, "lpad(CAST(i % 99000 + 1067 AS VARCHAR), 5, '0')", "München", "Bayern"),
    ("FR", "+33", 9, "lpad(CAST(i % 95000 + 1000 AS VARCHAR), 5, '0')", "Besançon", "Doubs"),
    ("ES", "+34", 9, "lpad(CAST(i % 52000 + 1001 AS VARCHAR), 5, '0')", "Málaga", "Andalucía"),
    ("PL", "+48", 9, "lpad(CAST(i % 99 AS VARCHAR), 2, '0') || '-' || lpad(CAST(i % 999 AS VARCHAR), 3, '0')", "Łódź", "łódzkie"),
]  # fmt: skip


def _pick(values: list[str], expr: str) -> str:
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"([{items}])[CAST(({expr}) % {len(values)} AS BIGINT) + 1]"


def build_workspace(path: Path, n: int) -> None:
    """A workspace with ``n`` customers in segment ``champions`` and ``n // 4`` in another."""
    from segmint.store import Store
    from segmint.store._store import RunRecord
    from segmint.store.results import Profiles, SegmentationResult, SegmentProfile

    total = n + n // 4
    k = len(COUNTRIES)
    country = _pick([c[0] for c in COUNTRIES], "i")
    prefix = _pick([c[1] for c in COUNTRIES], "i")
    digits = " ".join(
        f"WHEN i % {k} = {j} THEN lpad(CAST(hash(i, 'p') % {10 ** (d - 1) * 9} + "
        f"{10 ** (d - 1)} AS VARCHAR), {d}, '0')"
        for j, (_, _, d, *_) in enumerate(COUNTRIES)
    )
    postal = " ".join(f"WHEN i % {k} = {j} THEN {c[3]}" for j, c in enumerate(COUNTRIES))
    city, region = _pick([c[4] for c in COUNTRIES], "i"), _pick([c[5] for c in COUNTRIES], "i")
    first, last = _pick(FIRST, "hash(i, 'f')"), _pick(LAST, "hash(i, 'l')")
    local = (  # the ASCII letters of the names (ł and ø have no accent to strip: dropped)
        f"regexp_replace(strip_accents(lower({first})), '[^a-z]', '', 'g') || '.' || "
        f"regexp_replace(strip_accents(lower({last})), '[^a-z]', '', 'g') || i"
    )
    domain = _pick(DOMAINS, "hash(i, 'd')")
    email = f"{local} || '@' || {domain}"

    def consent(salt: str) -> str:
        h = f"hash(i, '{salt}') % 100"
        return f"CASE WHEN {h} < 85 THEN true WHEN {h} < 95 THEN false END"

    store = Store(path)
    store.db.execute("SET enable_progress_bar = false")
    store.ensure("customers")
    store.db.execute(
        f"""
        INSERT INTO customers (customer_id, email, phone, first_name, last_name, country,
                               postal_code, city, region, gender, birth_date,
                               consent_email, consent_sms, consent_ads)
        SELECT 'c' || lpad(CAST(i AS VARCHAR), 8, '0'),
          CASE WHEN hash(i, 'e') % 100 < 3 THEN NULL
               WHEN hash(i, 'e') % 10 = 3 THEN '  ' || upper(left({email}, 1)) || substr({email}, 2) || ' '
               ELSE {email} END,
          CASE WHEN hash(i, 'h') % 10 < 7 THEN {prefix} || CASE {digits} END END,
          {first}, {last}, {country}, CASE {postal} END, {city}, {region},
          CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END,
          DATE '1940-01-01' + CAST(hash(i, 'b') % 25000 AS INTEGER),
          {consent("ce")}, {consent("cs")}, {consent("ca")}
        FROM range({total}) t(i)
        """
    )
    profiles = Profiles(
        segmentation=SEGMENTATION,
        method="rules",
        segments=[
            SegmentProfile(label=SEGMENT, name="Champions", size=n),
            SegmentProfile(label=OTHER, name="Others", size=total - n),
        ],
    )
    result = SegmentationResult(
        name=SEGMENTATION, method="rules", n_customers=total, profiles=profiles
    )
    with store.transaction():
        run = store.record_run(RunRecord(kind="segment"))
        store.ensure("segmentations")
        store.ensure("segment_assignments")
        store.db.execute(
            "INSERT INTO segmentations VALUES (?, ?, 'rules', '{}', ?)",
            [run.run_id, SEGMENTATION, result.dumps()],
        )
        store.db.execute(
            "INSERT INTO segment_assignments SELECT ?, ?, customer_id, "
            f"CASE WHEN row_number() OVER (ORDER BY hash(customer_id)) <= {n} "
            f"THEN '{SEGMENT}' ELSE '{OTHER}' END, "
            f"CASE WHEN row_number() OVER (ORDER BY hash(customer_id)) <= {n} "
            "THEN 'Champions' ELSE 'Others' END FROM customers",
            [run.run_id, SEGMENTATION],
        )
    store.db.execute("CHECKPOINT")
    store.close()


def count(path: Path) -> dict[str, int]:
    """Customers in the workspace, in the segment, and with each consent."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    row = con.execute(
        "SELECT (SELECT count(*) FROM customers), count(*), count(*) FILTER (consent_ads), "
        "count(*) FILTER (consent_email) FROM segment_assignments JOIN customers "
        "USING (customer_id) WHERE segment = ?",
        [SEGMENT],
    ).fetchone()
    con.close()
    assert row is not None
    keys = ("customers", "in_segment", "ads_consent", "email_consent")
    return dict(zip(keys, map(int, row), strict=True))


# ---------------------------------------------------------------------------------------------
# Contenders (each in its own process)
# ---------------------------------------------------------------------------------------------

#: the same rows and columns as segmint's Google file: ads consent, one identifier, by id
MEMBERS_SQL = f"""
    SELECT a.customer_id, c.email, c.phone, c.first_name, c.last_name, c.country, c.postal_code
    FROM segment_assignments a JOIN customers c USING (customer_id)
    WHERE a.segmentation = '{SEGMENTATION}' AND a.segment = '{SEGMENT}' AND c.consent_ads
"""


def _timed_steps() -> dict[str, float]:
    """Wrap segmint's export steps with timers (the real functions run; only time is added)."""
    import segmint.activate.contacts as contacts
    import segmint.activate.export as export

    steps: dict[str, float] = {}

    def wrap(module: Any, name: str, label: str) -> None:
        fn = getattr(module, name, None)
        if fn is None:
            return

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                steps[label] = steps.get(label, 0.0) + time.perf_counter() - t0

        setattr(module, name, timed)

    wrap(export, "build_contacts", "contacts")
    wrap(contacts, "_standardize_countries", "countries")
    wrap(contacts, "_standardize_phones", "phones")
    wrap(export, "_filter", "filter")
    wrap(export, "query_to_csv", "write")
    wrap(export, "_sha256", "file hash")
    wrap(export, "_insert", "log")
    return steps


def step_segmint(ws: str, out: str, destination: str) -> dict[str, Any]:
    steps = _timed_steps()
    from segmint.activate.export import export_audience
    from segmint.store import Store

    store = Store(ws)
    t0, c0 = time.perf_counter(), time.process_time()
    res = export_audience(
        store, segmentation=SEGMENTATION, segments=[SEGMENT], destination=destination, out=out
    )
    t1, c1 = time.perf_counter(), time.process_time()
    store.close()
    # "write" holds COPY and what runs before the rename (file hash + log): split them out
    steps["copy"] = steps.pop("write", 0.0) - steps.get("file hash", 0.0) - steps.get("log", 0.0)
    steps["contacts"] = (
        steps.get("contacts", 0.0) - steps.get("countries", 0.0) - steps.get("phones", 0.0)
    )
    return {
        "export_s": t1 - t0,
        "cpu_s": c1 - c0,
        "rows": res.rows_written,
        "left_out": res.left_out,
        "sha256": res.sha256,
        "steps": steps,
    }


def step_pandas(ws: str, out: str) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    con = duckdb.connect(ws, read_only=True)
    t0, c0 = time.perf_counter(), time.process_time()
    df = con.execute(MEMBERS_SQL + " ORDER BY a.customer_id").df()

    def norm(s: pd.Series) -> pd.Series:
        return s.str.strip().str.lower().replace("", None)

    def name(s: pd.Series) -> pd.Series:  # Google: names lower-cased in Unicode NFC
        return norm(s.str.normalize("NFC"))

    def sha(s: pd.Series) -> pd.Series:
        return s.map(lambda v: hashlib.sha256(v.encode()).hexdigest(), na_action="ignore")

    email, phone = norm(df.email), df.phone.str.strip().replace("", None)
    first, last = name(df.first_name), name(df.last_name)
    country, zipc = df.country.str.strip(), df.postal_code.str.strip()
    keep = (
        email.notna()
        | phone.notna()
        | (first.notna() & last.notna() & country.notna() & zipc.notna())
    )
    out_df = pd.DataFrame(
        {
            "Email": sha(email),
            "Phone": sha(phone),
            "First Name": sha(first),
            "Last Name": sha(last),
            "Country": country,
            "Zip": zipc,
        }
    )[keep]
    out_df.to_csv(out, index=False)
    t1, c1 = time.perf_counter(), time.process_time()
    con.close()
    return {
        "export_s": t1 - t0,
        "cpu_s": c1 - c0,
        "rows": int(keep.sum()),
        "sha256": _file_sha(out),
    }


def step_duckdb(ws: str, out: str) -> dict[str, Any]:
    import duckdb

    def h(col: str) -> str:
        return f"sha256(nullif({col}, ''))"

    con = duckdb.connect(ws, read_only=True)
    t0, c0 = time.perf_counter(), time.process_time()
    email = "lower(trim(email))"
    first, last = "lower(nfc_normalize(trim(first_name)))", "lower(nfc_normalize(trim(last_name)))"
    con.execute(
        f"""COPY (
          SELECT {h(email)} AS "Email", {h("trim(phone)")} AS "Phone",
                 {h(first)} AS "First Name", {h(last)} AS "Last Name",
                 trim(country) AS "Country", trim(postal_code) AS "Zip"
          FROM ({MEMBERS_SQL})
          WHERE email IS NOT NULL OR phone IS NOT NULL OR (first_name IS NOT NULL AND
                last_name IS NOT NULL AND country IS NOT NULL AND postal_code IS NOT NULL)
          ORDER BY customer_id
        ) TO '{out}' (FORMAT CSV, HEADER)"""
    )
    t1, c1 = time.perf_counter(), time.process_time()
    rows = con.execute(f"SELECT count(*) FROM read_csv('{out}')").fetchone()
    con.close()
    return {
        "export_s": t1 - t0,
        "cpu_s": c1 - c0,
        "rows": rows[0] if rows else 0,
        "sha256": _file_sha(out),
    }


def _file_sha(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


STEPS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "pandas + hashlib": step_pandas,
    "duckdb COPY": step_duckdb,
}


def destinations() -> list[str]:
    from segmint.activate.exporters import all_exporters

    return [GOOGLE] + [d for d in all_exporters() if d != GOOGLE]


def run_child(step: str, workspace: Path, work: Path) -> dict[str, Any]:
    """Run one contender in a fresh process (segmint ones on their own copy of the
    workspace, since an export writes its log); return its result, wall time and peak RSS."""
    ws = workspace
    if step.startswith("segmint "):
        ws = work / "copy.duckdb"
        shutil.copyfile(workspace, ws)
    out = work / f"{step.replace(' ', '_').replace('+', '')}.csv"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", step, str(ws), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed (status {proc.returncode})")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["file_mb"] = out.stat().st_size / 1e6
    out.unlink()
    ws.unlink() if ws != workspace else None
    return result


def child(step: str, ws: str, out: str) -> None:
    if step.startswith("segmint "):
        result = step_segmint(ws, out, step.split(" ", 1)[1])
    else:
        result = STEPS[step](ws, out)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=float))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000, help="customers in the segment")
    ap.add_argument("--repeat", type=int, default=1, help="runs per contender; the best is kept")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument(
        "--destinations", help="segmint destinations to time, comma-separated (default: all)"
    )
    ap.add_argument("--workspace", help="build the workspace here once and reuse it on later runs")
    ap.add_argument("--child", nargs=3, metavar=("STEP", "WS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workspace = Path(args.workspace) if args.workspace else work / "bench.duckdb"
        t0 = time.perf_counter()
        if not workspace.exists():
            build_workspace(workspace, args.customers)
        counts = count(workspace)
        print(f"setup {time.perf_counter() - t0:.1f} s: {counts}", flush=True)
        wanted = args.destinations.split(",") if args.destinations else destinations()
        if GOOGLE not in wanted:
            wanted.insert(0, GOOGLE)  # the target and the ratios are about the Google file
        results: dict[str, dict[str, Any]] = {}
        for step in [f"segmint {d}" for d in wanted] + list(STEPS):
            for _ in range(args.repeat):
                r = run_child(step, workspace, work)
                if step not in results or r["export_s"] < results[step]["export_s"]:
                    results[step] = r
            print(summary(step, results[step]), flush=True)
    google = [results[f"segmint {GOOGLE}"], results["pandas + hashlib"], results["duckdb COPY"]]
    same = len({r["sha256"] for r in google}) == 1 and len({r["rows"] for r in google}) == 1
    if not same:
        raise SystemExit("the Google files of segmint, pandas and DuckDB differ: not comparable")
    table = render(counts, results, " ".join(sys.argv[1:]))
    print(table)
    if not args.no_write:
        write_section("export", table)


def summary(step: str, r: dict[str, Any]) -> str:
    return (
        f"{step:<22} export {r['export_s']:6.2f} s  cpu {r['cpu_s']:6.2f} s  "
        f"wall {r['wall_s']:6.2f} s  rows {r['rows']:>9,}  peak {r['peak_rss_mb']:6.0f} MB  "
        + "  ".join(f"{k} {v:.2f}" for k, v in r.get("steps", {}).items())
    )


def render(counts: dict[str, Any], results: dict[str, dict[str, Any]], argv: str) -> str:
    seg = results[f"segmint {GOOGLE}"]
    floor, pandas = results["duckdb COPY"], results["pandas + hashlib"]
    n = counts["in_segment"]
    cmd = ".venv/bin/python bench/bench_export.py" + (f" {argv}" if argv else "")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Export: a segment's audience file (Google Ads Customer Match and the others)",
        "",
        f"Command: `{cmd}`. Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other work (load average {load:.1f} at the end), "
        f"Python {platform.python_version()}. A segment of {n:,} customers "
        f"({counts['ads_consent']:,} with ads consent, {counts['email_consent']:,} with e-mail "
        f"consent) in a workspace of {counts['customers']:,}. Each contender runs in a fresh "
        "process: *export s* is the export call alone (workspace already open), *CPU s* the "
        "process's CPU time during it (all threads), *wall s* the whole process with imports; "
        "peak RSS is the process's VmHWM. segmint, pandas and DuckDB wrote byte-identical "
        "Google files (same SHA-256).",
        "",
        "| contender | export s | CPU s | wall s | rows written | file MB | peak RSS MB | "
        "Google file ÷ DuckDB floor (export s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    google = (f"segmint {GOOGLE}", "pandas + hashlib", "duckdb COPY")
    for name, r in results.items():
        ratio = f"{r['export_s'] / floor['export_s']:.2f}×" if name in google else "–"
        lines.append(
            f"| {name} | {r['export_s']:.2f} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} | "
            f"{r['rows']:,} | {r['file_mb']:.0f} | {r['peak_rss_mb']:,.0f} | {ratio} |"
        )
    step_names = list(seg["steps"])
    lines += [
        "",
        "segmint's export call, step by step (wall seconds; *contacts* is the normalizing SQL "
        "without the country/phone fallback, *copy* DuckDB's `COPY` with `sha256`, *log* the "
        "`exports` row and one `export_members` row per customer written):",
        "",
        "| destination | " + " | ".join(step_names) + " |",
        "|---|" + "---:|" * len(step_names),
    ]
    for name, r in results.items():
        if "steps" in r:
            lines.append(
                f"| {name.split(' ', 1)[1]} | "
                + " | ".join(f"{r['steps'].get(s, 0.0):.2f}" for s in step_names)
                + " |"
            )
    if n < 1_000_000:
        verdict = f"not measured by this run ({n:,} customers)"
    else:
        verdict = "met" if seg["export_s"] < TARGET_S else "**not met**"
    lines += [
        "",
        f"- Target: the Google file of a 1M-customer segment in under {TARGET_S:.0f} s: "
        f"{verdict} ({seg['export_s']:.2f} s for the export call).",
        f"- segmint ÷ DuckDB floor: {seg['export_s'] / floor['export_s']:.2f}× wall, "
        f"{seg['cpu_s'] / floor['cpu_s']:.2f}× CPU; pandas + hashlib ÷ segmint: "
        f"{pandas['export_s'] / seg['export_s']:.2f}× wall (peak RSS "
        f"{pandas['peak_rss_mb']:,.0f} MB vs {seg['peak_rss_mb']:,.0f} MB).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

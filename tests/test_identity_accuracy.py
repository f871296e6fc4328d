"""Identity resolution against known truth: pairwise precision, recall and F1 of the clusters.

Issue 15's correctness checks, each on data whose true entities are known and held out of the
import: the Chicago early-childhood list (target F1 ≥ 0.90 zero-config, and what a tuned
threshold reaches), Dutch PATSTAT applicants (no target in the issue: a floor a little below
the measured figure), FEBRL-style people generated here (F1 ≥ 0.95), and stable person ids
when 10 % new records arrive (incremental and full). Every figure is printed (``pytest -s``
shows it; BENCHMARKS.md has the table from bench/bench_dedupe.py); a miss names example false
and missed pairs so the reason can be read off the records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import segmint
from segmint.datasets import people_with_duplicates
from segmint.identity import DEFAULT_THRESHOLD, recluster
from segmint.identity.evaluate import PairScores, pair_errors, pairwise_scores
from tests.conftest import shared_file

CHICAGO_MAPPING = {"customer_id": "Id", "company": "Site name", "phone": "Phone",
                   "postal_code": "Zip"}  # fmt: skip
#: Chicago columns imported; ``Address`` becomes the extra column ``address``. Its
#: "Email Address" column is left out: it holds dates (134 of 134 values, e.g. '10/01/15':
#: some sources' columns are shifted), which clean's e-mail gate refuses.
CHICAGO_COLUMNS = ["Id", "Site name", "Address", "Zip", "Phone"]


THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


@dataclass
class Linked:
    """A workspace linked once, with the truth that was held out of its import."""

    ws: segmint.Workspace
    truth: dict[str, str]
    records: pd.DataFrame  # the imported rows, for showing example pairs
    key: str  # the column naming a record in ``records``


def import_customers(
    ws: segmint.Workspace, frame: pd.DataFrame, path: Path, mapping: dict[str, str] | None = None
) -> None:
    frame.to_csv(path, index=False)
    ws.ingest(path, into="customers", mapping=mapping)
    ws.clean()


def scores(linked: Linked) -> PairScores:
    clusters = linked.ws.identity_clusters()
    predicted = dict(zip(clusters["customer_id"], clusters["person_id"], strict=True))
    return pairwise_scores(predicted, linked.truth)


def describe(name: str, s: PairScores) -> str:
    return (
        f"{name}: precision {s.precision:.3f}, recall {s.recall:.3f}, F1 {s.f1:.3f} "
        f"({s.true_positive_pairs:,} of {s.predicted_pairs:,} predicted pairs true; "
        f"{s.true_pairs:,} true pairs)"
    )


def examples(linked: Linked, limit: int = 4) -> str:
    """Example false and missed pairs, shown as the records' imported values."""
    clusters = linked.ws.identity_clusters()
    predicted = dict(zip(clusters["customer_id"], clusters["person_id"], strict=True))
    errors = pair_errors(predicted, linked.truth, limit)
    rows = linked.records.set_index(linked.key)
    lines = []
    for kind, pairs in (("false pair", errors.false_pairs), ("missed pair", errors.missed_pairs)):
        for a, b in pairs:
            lines.append(f"  {kind}: {rows.loc[a].to_dict()}\n      vs {rows.loc[b].to_dict()}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def chicago(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    src = shared_file("dedupe_chicago_early_childhood", "csv_example_input_with_true_ids.csv")
    df = pd.read_csv(src, dtype=str)
    tmp = tmp_path_factory.mktemp("chicago")
    ws = segmint.Workspace(tmp / "chicago.duckdb")
    import_customers(ws, df[CHICAGO_COLUMNS], tmp / "chicago.csv", CHICAGO_MAPPING)
    ws.dedupe()
    yield Linked(ws, dict(zip(df["Id"], df["True Id"], strict=True)), df, "Id")
    ws.close()


@pytest.mark.slow
def test_chicago_zero_config_reaches_f1_090(chicago: Linked) -> None:
    s = scores(chicago)
    print("\n" + describe("Chicago early childhood, zero-config", s))
    assert s.true_pairs == 6608  # the data set's README
    assert s.f1 >= 0.90, (
        f"{describe('Chicago zero-config', s)} is below issue 15's F1 ≥ 0.90; for example:\n"
        + examples(chicago)
    )


def sweep(linked: Linked, name: str) -> dict[float, PairScores]:
    """The persons again from the stored pair scores at each threshold (no retraining), then
    back to the default threshold."""
    found = {}
    for threshold in THRESHOLDS:
        recluster(linked.ws.store, threshold=threshold)
        found[threshold] = scores(linked)
        print(describe(f"{name}, threshold {threshold}", found[threshold]))
    recluster(linked.ws.store, threshold=DEFAULT_THRESHOLD)
    return found


@pytest.mark.slow
def test_chicago_tuned_threshold(chicago: Linked) -> None:
    """What tuning the match threshold reaches (the issue asks to state it)."""
    zero = scores(chicago)
    found = sweep(chicago, "Chicago")
    best = max(found, key=lambda t: found[t].f1)
    print(describe(f"Chicago, best threshold {best}", found[best]))
    assert scores(chicago) == zero  # back where it was
    # the default sits near the best of the grid
    assert found[best].f1 - zero.f1 < 0.03, describe("zero-config", zero)


def test_chicago_phones_after_clean(tmp_path: Path) -> None:
    """The 7-digit Chicago phones (no area code) cannot become E.164, not even with the default
    region US: clean empties every one and reports each as invalid, so linking has no phone."""
    src = shared_file("dedupe_chicago_early_childhood", "csv_example_input_with_true_ids.csv")
    df = pd.read_csv(src, dtype=str)
    raw = df["Phone"].dropna()
    assert raw.str.fullmatch(r"\d{7}").mean() > 0.99
    with segmint.Workspace(tmp_path / "chicago.duckdb") as ws:
        df[CHICAGO_COLUMNS].to_csv(tmp_path / "chicago.csv", index=False)
        ws.ingest(tmp_path / "chicago.csv", into="customers", mapping=CHICAGO_MAPPING)
        ws.clean(default_region="US")
        kept = int(ws.table("customers").execute()["phone"].notna().sum())
        phone = next(
            c for c in ws.quality()["checks"]
            if (c["table"], c["column"], c["check"]) == ("customers", "phone", "phone")
        )  # fmt: skip
    print(f"\nChicago phones: {len(raw):,} given, {kept:,} kept after clean "
          f"(default region US), {phone['n_bad']:,} reported invalid")  # fmt: skip
    assert kept + phone["n_bad"] == len(raw)


@pytest.fixture(scope="module")
def patstat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    df = pd.read_csv(shared_file("dedupe_patstat_applicants", "patstat_input.csv"), dtype=str)
    ref = pd.read_csv(shared_file("dedupe_patstat_applicants", "patstat_reference.csv"), dtype=str)
    tmp = tmp_path_factory.mktemp("patstat")
    ws = segmint.Workspace(tmp / "patstat.duckdb")
    mapping = {"customer_id": "person_id", "company": "Name"}  # Lat, Lng, … kept as extras
    import_customers(ws, df, tmp / "patstat.csv", mapping)
    ws.dedupe()
    yield Linked(ws, dict(zip(ref["person_id"], ref["leuven_id"], strict=True)), df, "person_id")
    ws.close()


@pytest.mark.slow
def test_patstat_scores(patstat: Linked) -> None:
    """No target in issue 15; reported. At the default threshold the zero-config model links
    almost nothing here: Philips alone is 676 of the 2,379 records, so random pairs (where
    the u probabilities come from) are often one entity, u is far too high and every
    probability too low (docs/identity.md, Limits). The scores still rank the pairs well:
    the persons rebuilt at the best threshold of the sweep must beat putting records with the
    same name string together (precision 1.0, recall 0.30, F1 0.46 here)."""
    s = scores(patstat)
    print("\n" + describe("PATSTAT applicants, zero-config", s))
    names = dict(zip(patstat.records["person_id"], patstat.records["Name"], strict=True))
    same_name = pairwise_scores(names, patstat.truth)
    print(describe("PATSTAT, records with the same name string together", same_name))
    found = sweep(patstat, "PATSTAT")
    best = max(found, key=lambda t: found[t].f1)
    print(describe(f"PATSTAT, best threshold {best}", found[best]))
    assert s.true_pairs == 293_785  # the data set's README
    assert s.precision >= 0.95, describe("PATSTAT zero-config", s)  # what it links is right
    assert found[best].f1 >= same_name.f1 + 0.2, (
        f"{describe('PATSTAT best of sweep', found[best])}; e.g.:\n" + examples(patstat)
    )


def link_people(tmp_path: Path, people: pd.DataFrame) -> tuple[PairScores, str]:
    """Import generated people (truth held out), clean, link zero-config; scores and examples."""
    with segmint.Workspace(tmp_path / "people.duckdb") as ws:
        import_customers(ws, people.drop(columns="true_person"), tmp_path / "people.csv")
        ws.dedupe()
        truth = dict(zip(people["customer_id"], people["true_person"], strict=True))
        linked = Linked(ws, truth, people.drop(columns="country"), "customer_id")
        return scores(linked), examples(linked)


@pytest.mark.slow
def test_febrl_style_people_reach_f1_095(tmp_path: Path) -> None:
    """FEBRL-style duplicates: typos, swapped and nick names, missing and mistyped birth
    dates, moves, e-mail variants (no shared households: see the next test)."""
    people = people_with_duplicates(2000, seed=11, household_share=0.0)
    s, why = link_people(tmp_path, people)
    print("\n" + describe(f"FEBRL-style people ({len(people):,} records)", s))
    assert s.f1 >= 0.95, f"{describe('FEBRL-style', s)} is below issue 15's 0.95; e.g.:\n{why}"


@pytest.mark.slow
def test_people_sharing_a_household_stay_apart(tmp_path: Path) -> None:
    """The same people, 5 % of them living with someone else (last name, address, ZIP and
    landline shared; own first name, birth date and e-mail). Linking them would make a
    couple one person: one export row, one erasure for both."""
    people = people_with_duplicates(2000, seed=11)
    s, why = link_people(tmp_path, people)
    print("\n" + describe(f"people with households ({len(people):,} records)", s))
    # Not met: measured 0.826 precision, 0.890 F1 here (0.823 / 0.889 on 100k records,
    # bench_dedupe.py). The shared address, house number, postal code, city and phone add up
    # as if independent, and unsupervised EM makes a different birth date cost too little
    # (docs/identity.md, Limits; two fixes tried and measured there). The aim is 0.95; this
    # guards the present level with a margin so that it cannot get worse unseen.
    assert s.precision >= 0.78, f"{describe('with households', s)}; e.g.:\n{why}"
    assert s.f1 >= 0.85, f"{describe('with households', s)}; e.g.:\n{why}"


def person_changes(
    before: dict[str, str], after: dict[str, str]
) -> tuple[dict[str, str], set[str], set[str]]:
    """Old persons (person id → its new id) whose records stayed together and alone, and the
    old persons that were split or merged with another old person."""
    members: dict[str, set[str]] = {}
    for cid, pid in before.items():
        members.setdefault(pid, set()).add(cid)
    old_in: dict[str, set[str]] = {}  # new person → the old records it holds
    for cid in before:
        old_in.setdefault(after.get(cid, cid), set()).add(cid)
    kept, split, merged = {}, set(), set()
    for pid, records in members.items():
        now = {after.get(c, c) for c in records}
        if len(now) > 1:
            split.add(pid)
        elif old_in[next(iter(now))] != records:
            merged.add(pid)
        else:
            kept[pid] = next(iter(now))
    return kept, split, merged


def test_person_changes_classifies_by_hand() -> None:
    before = {"a": "a", "b": "a", "c": "c", "d": "d", "e": "e", "f": "e"}
    after = {"a": "a", "b": "a", "n": "a", "c": "c", "d": "c", "e": "e", "f": "f"}
    kept, split, merged = person_changes(before, after)
    assert (kept, split, merged) == ({"a": "a"}, {"e"}, {"c", "d"})


@pytest.mark.slow
@pytest.mark.parametrize("incremental", [True, False], ids=["incremental", "full"])
def test_new_records_keep_the_person_ids_of_unchanged_clusters(
    tmp_path: Path, incremental: bool
) -> None:
    """10 % new records (new customer ids, some of them more records of people already there):
    every person whose cluster neither merged nor split keeps its id; changes are events."""
    people = people_with_duplicates(1500, seed=23)
    late = people.sample(frac=0.1, random_state=5)
    early = people.drop(late.index)
    ws = segmint.Workspace(tmp_path / "ws.duckdb")
    try:
        import_customers(ws, early.drop(columns="true_person"), tmp_path / "early.csv")
        ws.dedupe()
        c = ws.identity_clusters()
        before = dict(zip(c["customer_id"], c["person_id"], strict=True))
        import_customers(ws, late.drop(columns="true_person"), tmp_path / "late.csv")
        second = ws.dedupe(incremental=incremental)
        c = ws.identity_clusters()
        after = dict(zip(c["customer_id"], c["person_id"], strict=True))
        events = ws.table("identity_events").execute()
    finally:
        ws.close()
    assert second.mode == ("incremental" if incremental else "full")
    assert set(after) == set(people["customer_id"])
    returning = late["true_person"].isin(early["true_person"]).sum()
    assert returning > 30  # some new records are people already there
    kept, split, merged = person_changes(before, after)
    print(f"\n{second.mode}: {len(kept):,} persons kept their id, {len(split)} split, "
          f"{len(merged)} merged; {returning} new records of known people")  # fmt: skip
    moved = {pid: new for pid, new in kept.items() if new != pid}
    assert not moved, f"{len(moved)} unchanged persons got a new id, e.g. {list(moved.items())[:5]}"
    assert len(kept) > 0.9 * len(set(before.values()))
    grew = {pid for pid in kept if sum(after[c] == pid for c in after) > sum(
        before[c] == pid for c in before)}  # fmt: skip
    assert len(grew) > 20  # known people gained their new records
    run_events = events[events["run_id"] == events["run_id"].max()]
    logged = run_events.groupby("event")["person_id"].apply(set).to_dict()
    assert len(logged.get("merged", set())) >= (1 if merged else 0), logged.keys()
    assert len(logged.get("split", set())) >= (1 if split else 0), logged.keys()
    assert grew <= logged.get("grew", set()), "every grown person has a 'grew' event"

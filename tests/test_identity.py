"""segmint dedupe: zero configuration, incremental runs, stable ids, decisions, explanations,
errors and the command line, on a small generated list with known duplicates."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import InputError

FIRST = ["anna", "ben", "clara", "david", "emma", "felix", "greta", "hans", "ida", "jonas",
         "karla", "lena", "max", "nina", "otto", "paula", "rosa", "sven", "tina", "uwe",
         "vera", "wim", "xenia", "yann", "zoe", "adam", "berta", "carl", "dora", "egon"]  # fmt: skip
LAST = ["mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner", "becker",
        "schulz", "hoffmann", "koch", "richter", "klein", "wolf", "neumann", "schwarz",
        "braun", "zimmermann", "hartmann", "krueger", "lange", "werner", "krause", "lehmann"]  # fmt: skip
CITIES = [("berlin", "10115"), ("hamburg", "20095"), ("munich", "80331"), ("cologne", "50667"),
          ("leipzig", "04109"), ("dresden", "01067"), ("bremen", "28195"), ("essen", "45127")]  # fmt: skip


def _typo(s: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(s) - 1)
    return s[:i] + s[i + 1 :] if rng.random() < 0.5 else s[:i] + s[i + 1] + s[i] + s[i + 2 :]


def people(n: int, dup_share: float, seed: int, start: int = 0) -> pd.DataFrame:
    """``n`` people, a share of them with a second record (typo, missing birth date, other
    e-mail or moved); ``truth`` names the person."""
    rng = random.Random(seed)
    rows = []
    for k in range(start, start + n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, postal = rng.choice(CITIES)
        rec = {
            "customer_id": f"C{k:05d}",
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}{k}@example.org",
            "phone": f"+49301{k:06d}",
            "birth_date": f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "city": city,
            "postal_code": postal,
            "truth": f"P{k}",
        }
        rows.append(rec)
        if rng.random() < dup_share:
            dup = dict(rec, customer_id=f"D{k:05d}")
            change = rng.choice(["typo", "email", "nodob", "moved"])
            if change == "typo":
                dup["last_name"] = _typo(last, rng)
            elif change == "email":
                dup["email"] = f"{first[0]}{last}@mail.example"
            elif change == "nodob":
                dup["birth_date"] = ""
                dup["first_name"] = _typo(first, rng) if len(first) > 3 else first
            else:
                dup["city"], dup["postal_code"] = rng.choice(CITIES)
                dup["phone"] = ""
            rows.append(dup)
    return pd.DataFrame(rows)


def pair_scores(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float]:
    def pairs(m: dict[str, str]) -> set[tuple[str, str]]:
        g: dict[str, list[str]] = defaultdict(list)
        for k, v in m.items():
            g[v].append(k)
        return {p for v in g.values() for p in itertools.combinations(sorted(v), 2)}

    pp, tp = pairs(predicted), pairs(truth)
    hit = len(pp & tp)
    return hit / max(len(pp), 1), hit / max(len(tp), 1)


def _import(ws: segmint.Workspace, frame: pd.DataFrame, path: Path) -> None:
    frame.drop(columns=["truth"]).to_csv(path, index=False)
    ws.ingest(path, into="customers")


@pytest.fixture
def linked(tmp_path: Path) -> tuple[segmint.Workspace, pd.DataFrame]:
    ws = segmint.Workspace(tmp_path / "ws.duckdb")
    frame = people(600, 0.3, seed=1)
    _import(ws, frame, tmp_path / "customers.csv")
    ws.dedupe()
    yield ws, frame
    ws.close()


def _map(ws: segmint.Workspace) -> dict[str, str]:
    cl = ws.identity_clusters()
    return dict(zip(cl.customer_id, cl.person_id, strict=True))


def test_zero_config_links_the_planted_duplicates(linked: tuple) -> None:
    ws, frame = linked
    p, r = pair_scores(_map(ws), dict(zip(frame.customer_id, frame.truth, strict=True)))
    assert p >= 0.9 and r >= 0.85, f"precision {p:.3f}, recall {r:.3f}"
    run = ws.store.db.execute(
        "SELECT spec FROM runs WHERE kind = 'dedupe' ORDER BY seq DESC LIMIT 1"
    ).fetchall()[0][0]
    for col in ("first_name", "last_name", "email", "phone", "birth_date", "postal_code"):
        assert f'"column": "{col}"' in run, f"{col} was not compared"
    # every record is in the map once; a person id is the id of one of its records
    cl = ws.identity_clusters()
    assert cl.customer_id.is_unique and len(cl) == len(frame)
    assert set(cl.person_id) <= set(cl.customer_id)
    sizes = cl.groupby("person_id").size()
    assert (cl.set_index("person_id").cluster_size.groupby(level=0).first() == sizes).all()


def test_new_records_are_matched_incrementally_and_ids_stay(linked: tuple, tmp_path: Path) -> None:
    ws, frame = linked
    before = _map(ws)
    old_rows = frame.sample(40, random_state=3)
    # 40 new records of existing people (new ids) and 20 new people
    again = old_rows.assign(customer_id=[f"N{i:05d}" for i in range(len(old_rows))])
    fresh = people(20, 0.0, seed=9, start=5000)
    _import(ws, pd.concat([again, fresh]), tmp_path / "new.csv")
    done = ws.dedupe()
    assert done.mode == "incremental" and done.new_records == 60
    # only pairs that involve a new record were scored
    scored = ws.store.db.execute(
        "SELECT customer_id_l, customer_id_r FROM identity_pairs WHERE run_id = ?", [done.run_id]
    ).fetchall()
    assert scored and all(a.startswith("N") or b.startswith("N") for a, b in scored)
    after = _map(ws)
    merged = {p for p, (e, _) in _events(ws, done.run_id).items() if e in ("merged", "split")}
    for cust, pid in before.items():
        if pid not in merged:
            assert after[cust] == pid, f"{cust} moved from {pid} to {after[cust]}"
    joined = sum(after[n] == after[o] for n, o in zip(again.customer_id, old_rows.customer_id,
                                                      strict=True))  # fmt: skip
    assert joined >= 36, f"only {joined} of 40 new copies joined their person"
    assert done.events.get("grew", 0) >= 30 and done.events.get("new", 0) >= 18


def _events(ws: segmint.Workspace, run_id: str) -> dict[str, tuple[str, str]]:
    rows = ws.store.db.execute(
        "SELECT person_id, event, previous FROM identity_events WHERE run_id = ?", [run_id]
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_a_full_rerun_keeps_every_person_id(linked: tuple) -> None:
    ws, _ = linked
    before = _map(ws)
    done = ws.dedupe(incremental=False)
    assert done.mode == "full"
    after = _map(ws)
    changed = [c for c in before if before[c] != after[c]]
    # the same data and seed give the same persons; ids never change for unchanged clusters
    assert len(changed) <= 0.01 * len(before), changed[:10]


def test_decisions_take_effect_at_once_and_in_later_runs(linked: tuple) -> None:
    ws, _ = linked
    m = _map(ws)
    # a linked pair a reviewer says are two people
    a, b = next(
        (x, y)
        for x, y in itertools.combinations(sorted(m), 2)
        if m[x] == m[y] and sum(v == m[x] for v in m.values()) == 2
    )
    ws.decide_identity(a, b, "reject")
    assert _map(ws)[a] != _map(ws)[b]
    # two different people a reviewer says are one
    c, d = "C00000", "C00001"
    assert m[c] != m[d]
    done = ws.decide_identity(c, d, "accept")
    assert done.mode == "recluster"
    m2 = _map(ws)
    assert m2[c] == m2[d]
    ws.dedupe(incremental=False)  # retrained from scratch: the decisions still hold
    m3 = _map(ws)
    assert m3[a] != m3[b] and m3[c] == m3[d]
    queue = ws.identity_review(50)
    assert not {(a, b), (c, d)} & {(q["customer_id_l"], q["customer_id_r"]) for q in queue}
    ws.decide_identity(c, d, "clear")
    assert _map(ws)[c] != _map(ws)[d]
    audit = ws.store.db.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'identity_decision'"
    ).fetchall()[0][0]
    assert audit == 3
    assert not ws.store.db.execute(
        "SELECT count(*) FROM audit_log WHERE target LIKE '%C00000%'"
    ).fetchall()[0][0]


def test_an_explanation_adds_up(linked: tuple) -> None:
    ws, _ = linked
    m = _map(ws)
    member = next(c for c in m if c.startswith("D"))
    ex = ws.explain_identity(member)
    assert ex.person_id == m[member] and len(ex.records) >= 2 and ex.pairs
    for pair in ex.pairs:
        steps = pair.steps
        assert steps[0]["column"] == "Prior" and steps[-1]["column"] == "Final score"
        total = sum(s["match_weight"] for s in steps[:-1])
        assert total == pytest.approx(pair.match_weight, abs=1e-6)
        assert steps[-1]["match_weight"] == pytest.approx(pair.match_weight, abs=1e-6)
        assert pair.match_probability >= ex.threshold
        shown = {s["column"] for s in steps}
        assert "email" in shown and any(s["value_l"] for s in steps)
    # one pair on request, also for two different people
    other = next(c for c in m if m[c] != m[member])
    one = ws.explain_identity(member, other).pairs[0]
    assert one.match_probability < ex.threshold


def test_an_empty_workspace_is_a_clear_error() -> None:
    ws = segmint.Workspace(":memory:")
    with pytest.raises(segmint.SegmintError, match="holds no data yet"):
        ws.dedupe()
    ws.close()


def test_bad_arguments_are_input_errors(linked: tuple) -> None:
    ws, _ = linked
    with pytest.raises(InputError, match="between 0 and 1"):
        ws.dedupe(threshold=1.5)
    with pytest.raises(InputError, match="no customer 'nobody'"):
        ws.explain_identity("nobody")
    with pytest.raises(InputError, match="accept, reject or clear"):
        ws.decide_identity("C00000", "C00001", "maybe")


def test_incremental_needs_a_model(tmp_path: Path) -> None:
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    _import(ws, people(50, 0.2, seed=2), tmp_path / "c.csv")
    with pytest.raises(InputError, match="no linkage model"):
        ws.dedupe(incremental=True)
    ws.close()


def test_a_spec_chooses_the_fields(tmp_path: Path) -> None:
    ws = segmint.Workspace(tmp_path / "w.duckdb")
    _import(ws, people(300, 0.3, seed=4), tmp_path / "c.csv")
    from segmint.identity import IdentityOptions

    done = ws.dedupe(
        options=IdentityOptions(
            fields={"first_name": "first_name", "last_name": "last_name", "email": "email"},
            blocking=[["last_name"], ["email"]],
            threshold=0.9,
        )
    )
    assert {f["column"] for f in done.fields} == {"first_name", "last_name", "email"}
    assert done.threshold == 0.9 and len(done.blocking) == 2
    with pytest.raises(segmint.SegmintError, match="not a field kind"):
        ws.dedupe(options=IdentityOptions(fields={"email": "mail"}))
    with pytest.raises(segmint.SegmintError, match="'birth_date', which is not a linkage"):
        ws.dedupe(options=IdentityOptions(fields={"email": "email"}, blocking=[["birth_date"]]))
    ws.close()


def test_the_command_line(linked: tuple, tmp_path: Path) -> None:
    ws, _ = linked
    path = ws.path
    ws.close()
    runner = CliRunner()
    out = tmp_path / "clusters.csv"
    res = runner.invoke(app, ["dedupe", "-w", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "customer records" in res.output and "persons" in res.output
    assert "What each comparison weighs" in res.output
    head = out.read_text().splitlines()[0]
    assert head == "customer_id,cluster_id,person_id,match_probability,cluster_size"
    res = runner.invoke(app, ["dedupe", "-w", str(path), "--explain", "D00001"])
    assert res.exit_code in (0, 2), res.output
    res = runner.invoke(app, ["dedupe", "-w", str(path), "--review", "5"])
    assert res.exit_code == 0 and "nearest the threshold" in res.output
    res = runner.invoke(app, ["dedupe", "-w", str(path), "--accept", "C00001"])
    assert res.exit_code == 2 and "two customer ids" in res.output
    assert "Traceback" not in res.output

"""Comparing segment runs: migration by label, sizes, centroid shift, alerts, through the real
command (Typer's CliRunner), Python and the REST API, on one workspace with three runs: two on
identical data and settings, and a third whose rules changed (a planted change: the "Big"
threshold tripled, the "Regular" rule replaced by "Frequent")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.exceptions import MonitorError, SpecError

runner = CliRunner()

SPEC = """segmentations:
  - name: spend
    method: rules
    rules: {{Big: monetary_total > {big}, {second}: frequency >= 3}}
  - {{name: rfm, method: rfm}}
"""


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "250"})


class Shop:
    """A workspace with three segment runs (ids in ``runs``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ws = root / "w.duckdb"
        files = segmint.datasets.make_retail(600, seed=3).to_files(root / "data", format="csv")
        same = root / "same.yaml"
        same.write_text(SPEC.format(big=500, second="Regular"))
        changed = root / "changed.yaml"
        changed.write_text(SPEC.format(big=1500, second="Frequent"))
        for i, args in enumerate(
            ([str(files["orders"]), "--spec", str(same)], ["--spec", str(same)],
             ["--spec", str(changed)])
        ):  # fmt: skip
            r = cli("run", *args, "-w", str(self.ws), "--out", str(root / f"report{i}"))
            assert r.exit_code == 0, r.output
        with segmint.Workspace(self.ws, read_only=True) as w:
            self.runs = [r["run_id"] for r in w.runs() if r["kind"] == "segment"]
        assert len(self.runs) == 3

    def in_both(self, a: str, b: str, name: str) -> int:
        with segmint.Workspace(self.ws, read_only=True) as w:
            row = w.store.db.execute(
                "SELECT count(*) FROM (SELECT customer_id FROM segment_assignments "
                "WHERE run_id = ? AND segmentation = ? INTERSECT SELECT customer_id FROM "
                "segment_assignments WHERE run_id = ? AND segmentation = ?)",
                [a, name, b, name],
            ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return Shop(tmp_path_factory.mktemp("monitor"))


def _monitor(shop: Shop, baseline: str, current: str, **kw: Any) -> Any:
    with segmint.Workspace(shop.ws, read_only=True) as w:
        return w.monitor(baseline, current, **kw)


def test_identical_runs_keep_everyone_and_raise_nothing(shop):
    first, second, _ = shop.runs
    m = _monitor(shop, first, second)
    assert not m.crossed and m.alerts == []
    assert [s["name"] for s in m.segmentations] == ["spend", "rfm"]
    for s in m.segmentations:
        total = sum(n for row in s["migration"].values() for n in row.values())
        assert total == s["customers_in_both"] == shop.in_both(first, second, s["name"]) > 0
        assert s["stayed_share"] >= 0.99
        assert s["sizes"]["baseline"] == s["sizes"]["current"]
        assert s["new"] == [] and s["retired"] == []
        assert all(v is not None and v < 1e-9 for v in s["centroid_shift"].values())


def test_renaming_a_segment_does_not_change_the_migration(shop):
    first, second, _ = shop.runs
    before = _monitor(shop, first, second).segmentations
    with segmint.Workspace(shop.ws) as w:
        w.store.db.execute(
            "UPDATE segment_assignments SET segment_name = 'Best customers' "
            "WHERE run_id = ? AND segmentation = 'rfm' AND segment = 'Champions'",
            [second],
        )
    try:
        after = _monitor(shop, first, second).segmentations
    finally:
        with segmint.Workspace(shop.ws) as w:
            w.store.db.execute(
                "UPDATE segment_assignments SET segment_name = 'Champions' "
                "WHERE run_id = ? AND segmentation = 'rfm' AND segment = 'Champions'",
                [second],
            )
    for b, a in zip(before, after, strict=True):
        assert a["migration"] == b["migration"] and a["stayed_share"] == b["stayed_share"]
    rfm = after[1]
    assert rfm["names"]["current"]["Champions"] == "Best customers"
    assert rfm["names"]["baseline"]["Champions"] == "Champions"


def test_a_planted_change_raises_size_and_moved_alerts(shop):
    _, second, third = shop.runs
    m = _monitor(shop, second, third)
    assert m.crossed
    spend = m.segmentations[0]
    assert spend["new"] == ["Frequent"] and spend["retired"] == ["Regular"]
    total = sum(n for row in spend["migration"].values() for n in row.values())
    assert total == shop.in_both(second, third, "spend")
    big_before, big_after = spend["sizes"]["baseline"]["Big"], spend["sizes"]["current"]["Big"]
    assert big_after < 0.8 * big_before
    kinds = {(a["kind"], a["subject"]) for a in m.alerts}
    assert ("segment_size", "spend: Big") in kinds and ("moved_share", "spend") in kinds
    assert not any("rfm" in str(a["subject"]) for a in m.alerts)  # RFM did not change
    moved = next(a for a in m.alerts if a["kind"] == "moved_share")
    assert moved["value"] == pytest.approx(1 - spend["stayed_share"]) and moved["value"] > 0.1
    # Big lost its smaller spenders: its mean customer moved
    assert spend["centroid_shift"]["Big"] > 0.05
    assert set(spend["centroid_shift"]) == {"Big", "Other"}


def test_thresholds_decide_the_alerts(shop):
    _, second, third = shop.runs
    loose = {"max_size_change": 5, "max_moved_share": 1}
    assert not _monitor(shop, second, third, thresholds=loose).crossed
    with pytest.raises(SpecError, match="max_moved_share"):
        _monitor(shop, second, third, thresholds={"max_moved_share": 2})


def test_cli_exit_codes(shop, tmp_path):
    first, second, third = shop.runs
    w = str(shop.ws)
    quiet = cli("monitor", "--baseline", first, "--current", second, "--fail-on-drift", "-w", w)
    assert quiet.exit_code == 0, quiet.output
    assert "No alerts" in quiet.output and "100.0% of 600 customers stayed" in quiet.output
    # identical data: the drift table says none drifted and shows at most ten features
    found = re.search(r"Feature drift: 0 of (\d+) features drifted", quiet.output)
    assert found, quiet.output
    if int(found.group(1)) > 10:
        assert "more features checked, none drifted" in quiet.output
    crossed = cli("monitor", "--fail-on-drift", "-w", w)  # default: the latest vs the one before
    assert crossed.exit_code == 3, crossed.output
    assert f"Run {third} compared with {second}" in crossed.output
    assert "Retired segments (gone now): Regular" in crossed.output
    assert cli("monitor", "-w", w).exit_code == 0  # alerts shown, but no --fail-on-drift
    spec = tmp_path / "loose.yaml"
    spec.write_text("monitoring: {max_size_change: 5, max_moved_share: 1}\n")
    assert cli("monitor", "--fail-on-drift", "--spec", str(spec), "-w", w).exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--baseline", "0099-segment"],
        ["--current", "0001-ingest"],
        ["--baseline", "{first}", "--current", "{first}"],
        ["--current", "{first}"],  # nothing before the first run
        ["-w", "{missing}"],
    ],
)
def test_cli_user_errors_exit_2(shop, tmp_path, args):
    filled = [a.format(first=shop.runs[0], missing=tmp_path / "none.duckdb") for a in args]
    if "-w" not in filled:
        filled += ["-w", str(shop.ws)]
    r = cli("monitor", *filled)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "Error" in r.output


def test_json_and_html_files(shop, tmp_path):
    out, page = tmp_path / "m.json", tmp_path / "m.html"
    r = cli("monitor", "--json", str(out), "--html", str(page), "-w", str(shop.ws))
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert {"baseline", "current", "features", "segmentations", "alerts", "crossed"} <= set(data)
    assert data["current"] == shop.runs[2] and data["crossed"] is True
    seg = data["segmentations"][0]
    assert {"name", "migration", "sizes", "centroid_shift", "new", "retired"} <= set(seg)
    assert {"kind", "subject", "value", "threshold", "message"} == set(data["alerts"][0])
    html = page.read_text()
    assert html.count("<h1>") == 1 and "Retired segments (gone now): Regular" in html
    assert html.count('class="chart"') == 2  # a migration heat map per segmentation
    printed = cli("monitor", "--json", "-", "-w", str(shop.ws))
    assert json.loads(printed.output)["alerts"] == data["alerts"]


def test_status_json_lists_runs_oldest_first(shop):
    r = cli("status", "--json", "-w", str(shop.ws))
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["tables"]["customers"] == 600
    runs = data["runs"]
    assert [x["id"] for x in runs if x["kind"] == "segment"] == shop.runs
    assert all({"id", "kind", "at"} <= set(x) for x in runs)
    assert [x["at"] for x in runs] == sorted(x["at"] for x in runs)


def test_python_errors_are_monitor_errors(shop, tmp_path):
    with segmint.Workspace(shop.ws, read_only=True) as w, pytest.raises(MonitorError):
        w.monitor("nope")
    with segmint.Workspace(tmp_path / "empty.duckdb") as w, pytest.raises(MonitorError):
        w.monitor()


def _served_copy(shop: Shop, folder: Path) -> Any:
    """A server on a copy of the workspace (its per-thread connections stay open after the
    test; the other tests open the original read-only)."""
    import shutil

    from segmint.api import Settings, create_app

    shutil.copy(shop.ws, folder / "w.duckdb")
    return create_app(Settings(workspace=folder / "w.duckdb", data_dir=folder / "srv"))


def test_api(shop, tmp_path):
    from fastapi.testclient import TestClient

    from segmint.api import first_admin_token

    server = _served_copy(shop, tmp_path)
    token = first_admin_token(server)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(server) as client:
        ok = client.get("/api/v1/monitor", headers=headers)
        assert ok.status_code == 200, ok.text
        assert ok.json()["current"] == shop.runs[2] and ok.json()["crossed"] is True
        first, second, _ = shop.runs
        same = client.get(
            "/api/v1/monitor", headers=headers, params={"baseline": first, "current": second}
        )
        assert same.status_code == 200 and same.json()["alerts"] == []
        loose = client.get(
            "/api/v1/monitor", headers=headers, params={"max_moved_share": 1, "max_size_change": 5}
        )
        assert loose.json()["alerts"] == []
        bad = client.get("/api/v1/monitor", headers=headers, params={"baseline": "nope"})
        assert bad.status_code == 400 and bad.json()["error"] == "MonitorError"
        assert "segment run" in bad.json()["problem"]
    server.state.segmint.close()


def test_docs_python_example_runs(shop, tmp_path, monkeypatch, capsys):
    import re
    import shutil

    text = (Path(__file__).resolve().parents[1] / "docs" / "monitoring.md").read_text()
    section = text.split("## Comparing runs", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks
    shutil.copy(shop.ws, tmp_path / "shop.duckdb")
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "docs/monitoring.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "Segment 'Big' of spend shrank by" in printed and "retired: ['Regular']" in printed


def test_web_page(shop, tmp_path):
    from fastapi.testclient import TestClient

    from segmint.api import first_admin_token
    from tests.test_web import sign_in

    server = _served_copy(shop, tmp_path)
    token = first_admin_token(server)
    assert token is not None
    with TestClient(server) as client:
        sign_in(client, token)
        page = client.get("/monitor")
        assert page.status_code == 200, page.text[:300]
        text = page.text
        assert 'href="/monitor"' in text  # in the navigation
        assert "Segment &#39;Big&#39; of spend shrank by" in text
        assert "Retired segments (gone now): Regular" in text
        assert text.count('class="chart"') == 4  # sizes over runs and migration, twice
        quiet = client.get("/monitor", params={"baseline": shop.runs[0], "current": shop.runs[1]})
        assert "No alerts" in quiet.text
        bad = client.get("/monitor", params={"baseline": "nope"})
        assert bad.status_code == 400 and "not a segment run" in bad.text
    server.state.segmint.close()


def test_centroid_shift_on_one_feature_is_the_standardized_mean_change(shop):
    """With one feature the formula reduces to |mean after − mean before| / sd before, checked
    here with pandas on the runs' own feature snapshots."""
    _, second, third = shop.runs
    m = _monitor(shop, second, third, features=["monetary_total"])
    with segmint.Workspace(shop.ws, read_only=True) as w:
        frames = {}
        for run in (second, third):
            snap = w.feature_snapshot(run).to_pandas().set_index("customer_id")
            seg = w.store.db.execute(
                "SELECT customer_id, segment FROM segment_assignments "
                "WHERE run_id = ? AND segmentation = 'spend'",
                [run],
            ).df()
            frames[run] = snap.join(seg.set_index("customer_id"), how="inner")
    sd = frames[second]["monetary_total"].std()
    for label in ("Big", "Other"):
        before = frames[second].loc[frames[second].segment == label, "monetary_total"].mean()
        after = frames[third].loc[frames[third].segment == label, "monetary_total"].mean()
        expected = abs(after - before) / sd
        assert m.segmentations[0]["centroid_shift"][label] == pytest.approx(expected, rel=1e-9)
    assert m.segmentations[0]["centroid_shift"]["Big"] > 0.1


# -- the run report's monitoring section (the three runs' own report.json and report.html) --


def _report(shop: Shop, i: int) -> tuple[dict[str, Any], str]:
    folder = shop.root / f"report{i}"
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return data, (folder / "report.html").read_text(encoding="utf-8")


def test_the_first_run_report_has_no_monitoring_section(shop):
    data, html = _report(shop, 0)
    assert data["monitoring"] is None
    assert any("first segment run" in n for n in data["notes"])
    assert 'id="monitoring"' not in html and "Changes since" not in html


def test_the_next_run_report_compares_with_the_previous_run(shop):
    data, html = _report(shop, 1)
    first, second, _ = shop.runs
    m = data["monitoring"]
    assert (m["baseline"], m["current"]) == (first, second) == (first, data["run_id"])
    assert m["alerts"] == [] and not m["crossed"]
    assert [s["name"] for s in m["segmentations"]] == ["spend", "rfm"]
    for s in m["segmentations"]:
        total = sum(n for row in s["migration"].values() for n in row.values())
        assert total == s["customers_in_both"] == shop.in_both(first, second, s["name"]) > 0
        assert list(s["history"]) == [first, second]  # the sizes over runs, oldest first
        assert s["history"][second] == s["sizes"]["current"]
    assert m["features"] and not any(f["drifted"] for f in m["features"])
    # the page: the section with its heading, a heat map and a sizes chart per segmentation
    assert f"Monitoring: changes since run {first}</h2>" in html
    assert "No alerts: nothing crossed a threshold" in html
    section = html.split('<section id="monitoring"', 1)[1].split("</section>", 1)[0]
    assert section.count('class="chart"') == 4
    assert "600 of the 600 customers present in both runs" in section
    assert "Feature drift: 0 of" in section
    # the same numbers as segmint monitor --json
    assert (
        _monitor(shop, first, second).to_dict()["segmentations"][0]["migration"]
        == (m["segmentations"][0]["migration"])
    )


def test_the_report_says_what_crossed_a_threshold_and_what_to_do(shop):
    data, html = _report(shop, 2)
    _, second, third = shop.runs
    m = data["monitoring"]
    assert m["baseline"] == second and m["crossed"]
    kinds = {(a["kind"], a["subject"]) for a in m["alerts"]}
    assert ("segment_size", "spend: Big") in kinds and ("moved_share", "spend") in kinds
    spend = m["segmentations"][0]
    total = sum(n for row in spend["migration"].values() for n in row.values())
    assert total == spend["customers_in_both"] == shop.in_both(second, third, "spend")
    assert list(spend["history"]) == shop.runs
    section = html.split('<section id="monitoring"', 1)[1].split("</section>", 1)[0]
    alerts = section.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "Segment &#39;Big&#39; of spend shrank by" in alerts
    # grouped by kind, what to do said once per group
    assert "Segments grew or shrank (" in alerts and "Customers changed segment (1)" in alerts
    assert alerts.count("What to do:") == len({a["kind"] for a in m["alerts"]})
    assert alerts.count("<li>") == len(m["alerts"])
    assert "Re-export these segmentations&#39; audiences" in alerts  # the moved-share advice
    assert "Retired segments (gone now): Regular." in section


def test_a_baseline_without_feature_snapshot_is_a_note_not_a_failed_run(shop, tmp_path):
    """A run made before feature snapshots were kept (its record removed here, on a copy):
    the next run succeeds, its report compares the segments and says why drift is missing."""
    import shutil

    ws = tmp_path / "w.duckdb"
    shutil.copy(shop.ws, ws)
    with segmint.Workspace(ws) as w:
        w.store.db.execute("DELETE FROM feature_snapshot_runs WHERE run_id = ?", [shop.runs[2]])
    spec = tmp_path / "changed.yaml"
    spec.write_text(SPEC.format(big=1500, second="Frequent"))
    r = cli("run", "--spec", str(spec), "-w", str(ws), "--out", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "out" / "report.json").read_text())["monitoring"]
    assert m["baseline"] == shop.runs[2] and m["features"] == []
    assert any(n.startswith("Feature drift was not computed") for n in m["notes"])
    spend = m["segmentations"][0]
    assert spend["stayed_share"] == 1.0 and set(spend["centroid_shift"].values()) == {None}
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Feature drift was not computed" in html.split('<section id="monitoring"', 1)[1]

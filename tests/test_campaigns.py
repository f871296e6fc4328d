"""Campaign results (segmint.measure.campaigns) on the Hillstrom e-mail test, imported as a user
would: rates, revenue, intervals, cost allocation and ROI against independent computations and
the published figures; the send-time segment from stored runs; the degenerate cases."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import norm

import segmint
from segmint.exceptions import SegmintError
from segmint.measure.campaigns import NO_SEGMENT, CampaignResults, campaign_results
from tests.activate_support import make_workspace
from tests.campaign_support import CHANNELS, COST_PER_EMAIL, hillstrom, write_files


@pytest.fixture(scope="module")
def hill(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[segmint.Workspace, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("hillstrom")
    h = hillstrom()
    campaigns, contacts = write_files(h, root / "data")
    ws = segmint.Workspace(root / "w.duckdb")
    ws.ingest(campaigns, into="campaigns")
    ws.ingest(contacts, into="campaign_contacts")
    yield ws, h
    ws.close()


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson (1927), written out: (p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    z = norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def sent(h: pd.DataFrame) -> pd.DataFrame:
    return h[h.campaign_id != "HN"]


def test_rates_and_revenue_match_an_independent_pandas_computation(hill):
    ws, h = hill
    res = ws.campaigns()
    expected = (
        sent(h)
        .groupby(["campaign_id", "channel"])
        .agg(
            n=("visit", "size"),
            visits=("visit", "sum"),
            buys=("conversion", "sum"),
            spend=("spend", "sum"),
        )
    )
    rows = {(r.campaign_id, r.segment): r for r in res.rows if r.campaign_id != "HN"}
    assert set(rows) == set(expected.index)
    for key, e in expected.iterrows():
        r = rows[key]
        assert r.channel == CHANNELS[key[0]]
        assert r.counts.contacts == r.counts.reached == r.counts.sent == e.n
        assert (r.counts.clicks, r.counts.conversions) == (e.visits, e.buys)
        assert r.click_rate.value == pytest.approx(e.visits / e.n, rel=1e-12)
        assert r.conversion_rate.value == pytest.approx(e.buys / e.n, rel=1e-12)
        assert r.revenue.value == pytest.approx(e.spend, rel=1e-9)
        assert r.revenue_per_contact.value == pytest.approx(e.spend / e.n, rel=1e-9)
        assert r.open_rate.value is None and "no opens" in str(r.open_rate.reason)


def test_per_campaign_figures_are_the_published_hillstrom_ones(hill):
    ws, _ = hill
    by_campaign = {r.campaign_id: r for r in ws.campaigns(by="campaign").rows}
    # README of ../shared/data/hillstrom_email_2008: n, visit, conversion, spend per customer
    published = {"HM": (21_307, 0.1828, 0.0125, 1.4226), "HW": (21_387, 0.1514, 0.0088, 1.0772)}
    for cid, (n, visit, conversion, spend) in published.items():
        r = by_campaign[cid]
        assert r.counts.reached == n and r.segment is None and r.channel is None
        assert round(r.click_rate.value, 4) == visit
        assert round(r.conversion_rate.value, 4) == conversion
        assert round(r.revenue_per_contact.value, 4) == spend
    assert by_campaign["HN"].counts.contacts == 21_306 and by_campaign["HN"].counts.reached == 0


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_intervals_are_wilson_score_intervals(hill, level):
    ws, _ = hill
    res = ws.campaigns(by=["campaign", "segment"], confidence=level)
    checked = 0
    for r in res.rows:
        for rate in (r.click_rate, r.conversion_rate):
            if rate.value is None:
                continue
            low, high = wilson(rate.successes, rate.trials, level)
            assert rate.low == pytest.approx(low, abs=1e-12)
            assert rate.high == pytest.approx(high, abs=1e-12)
            assert rate.low < rate.value < rate.high
            checked += 1
    assert checked == 12


def test_cost_is_shared_by_reached_contacts_and_roi_follows(hill):
    ws, h = hill
    res = ws.campaigns()
    for cid in ("HM", "HW"):
        rows = [r for r in res.rows if r.campaign_id == cid]
        total = len(sent(h)[sent(h).campaign_id == cid]) * COST_PER_EMAIL
        assert sum(r.cost.value for r in rows) == pytest.approx(total, rel=1e-12)
        for r in rows:
            cost, revenue = r.cost.value, r.revenue.value
            assert cost == pytest.approx(r.counts.reached * COST_PER_EMAIL, rel=1e-9)
            assert r.roi.value == pytest.approx((revenue - cost) / cost, rel=1e-12)
            assert r.cost_per_conversion.value == pytest.approx(cost / r.counts.conversions)
    by_channel = {r.channel: r for r in ws.campaigns(by="channel").rows}
    mens = by_channel["mens e-mail"]
    assert mens.cost.value == pytest.approx(21_307 * COST_PER_EMAIL, rel=1e-12)
    assert mens.roi.value == pytest.approx(1.4226 / COST_PER_EMAIL - 1, abs=1e-3)


def test_the_hold_out_is_reached_by_nobody_and_says_why(hill):
    ws, _ = hill
    res = ws.campaigns()
    hold = [r for r in res.rows if r.campaign_id == "HN"]
    assert {r.segment for r in hold} == {"Phone", "Web", "Multichannel"}
    for r in hold:
        assert r.counts.reached == 0 and r.counts.contacts > 0
        for fig in (r.conversion_rate, r.revenue, r.revenue_per_contact):
            assert fig.value is None and "nothing was sent" in str(fig.reason)
        assert r.cost.value is None and "HN has no cost" in str(r.cost.reason)
        assert r.roi.value is None and r.cost_per_conversion.value is None
    # no inf or NaN anywhere: the JSON form is strict JSON
    json.dumps(res.to_dict(), allow_nan=False)


def pooled_z_p(k1: int, n1: int, k2: int, n2: int) -> float:
    p = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return float(2 * norm.sf(abs(z)))


def test_best_channel_per_segment_with_a_two_proportion_test(hill):
    ws, h = hill
    res = ws.campaigns(by="segment")
    rates = sent(h).groupby(["channel", "campaign_id"]).conversion.agg(["sum", "size"])
    assert [c.segment for c in res.best_channels] == ["Multichannel", "Phone", "Web"]
    for c in res.best_channels:
        m, w = rates.loc[(c.segment, "HM")], rates.loc[(c.segment, "HW")]
        assert c.channels == 2  # the hold-out reached nobody: not a channel of the segment
        assert c.channel == "mens e-mail" and c.runner_up == "womens e-mail"
        assert c.conversion_rate.value == pytest.approx(m["sum"] / m["size"], rel=1e-12)
        assert c.difference == pytest.approx(m["sum"] / m["size"] - w["sum"] / w["size"])
        p = pooled_z_p(m["sum"], m["size"], w["sum"], w["size"])
        assert c.p_value == pytest.approx(p, rel=1e-9)
        assert c.clearly_ahead == (p < 0.05)
        assert c.sentence.startswith(f"In {c.segment}, mens e-mail converts best (conversion ")
        assert "95 % CI" in c.sentence and "womens e-mail" in c.sentence
        assert ("is clearly worse" if p < 0.05 else "is not clearly worse") in c.sentence
    phone = next(c for c in res.best_channels if c.segment == "Phone")
    assert phone.clearly_ahead  # 1.08 % vs 0.71 % on about 9,300 each: p ≈ 0.007


def test_the_docs_quote_the_sentences_segmint_writes(hill):
    ws, _ = hill
    doc = (Path(__file__).parents[1] / "docs" / "experiments.md").read_text(encoding="utf-8")
    for choice in ws.campaigns(by="segment").best_channels:
        assert choice.sentence in doc


def test_a_segment_reached_by_one_channel_says_so(hill):
    ws, _ = hill
    res = ws.campaigns(["HM"], by="segment")
    assert {r.segment for r in res.rows} == {"Phone", "Web", "Multichannel"}
    for c in res.best_channels:
        assert c.channels == 1 and c.runner_up is None and c.p_value is None
        assert "only mens e-mail was used" in c.sentence and "no channel to compare" in c.sentence


def test_to_dict_keeps_full_precision(hill):
    ws, _ = hill
    res = ws.campaigns()
    data = json.loads(json.dumps(res.to_dict()))
    first = res.rows[0]
    assert data["rows"][0]["conversion_rate"]["value"] == first.conversion_rate.value
    assert data["rows"][0]["conversion_rate"]["low"] == first.conversion_rate.low
    assert data["best_channels"][0]["p_value"] == res.best_channels[0].p_value
    assert data["by"] == ["campaign", "segment", "channel"] and data["confidence"] == 0.95


def test_misuse_is_a_user_error_that_says_what_to_do(hill, tmp_path):
    ws, _ = hill
    with pytest.raises(SegmintError, match="No contacts of campaign 'NOPE'") as e:
        ws.campaigns("NOPE")
    assert "HM" in str(e.value.fix)
    with pytest.raises(SegmintError, match="grouped by campaign, segment and channel"):
        ws.campaigns(by="region")
    with pytest.raises(SegmintError, match="no segment runs"):
        ws.campaigns(segmentation="rfm")
    with pytest.raises(SegmintError, match="without a segmentation"):
        ws.campaigns(run="0001-segment")
    with pytest.raises(SegmintError, match="between 0 and 1"):
        ws.campaigns(confidence=95)
    missing = tmp_path / "none.duckdb"
    with pytest.raises(SegmintError, match="no campaign contacts") as e:
        segmint.Workspace(missing).campaigns()
    assert "--as campaign_contacts" in str(e.value.fix)
    assert not missing.exists()  # asking did not create a workspace


# ------------------------------------------------------------ the segment at send time


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Runs of segmentation 'life': as of 2024-01-01 (C1: A, C2: A, C4: A), and twice as of
    2024-06-01, first (C1: A, C4: A) then (C1: B, C4: B), the last counting; C3 is in none."""
    path = tmp_path / "w.duckdb"
    people = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"]})
    names = {"A": "Bargain hunters", "B": "Loyal"}
    make_workspace(
        path, people, {"C1": "A", "C2": "A", "C4": "A"}, segmentation="life", names=names
    ).close()
    for later in ({"C1": "A", "C4": "A"}, {"C1": "B", "C4": "B"}):
        make_workspace(path, people, later, segmentation="life", names=names).close()
    with segmint.Workspace(path) as ws:
        for run, as_of in (
            ("0001-segment", "2024-01-01"),
            ("0002-segment", "2024-06-01"),
            ("0003-segment", "2024-06-01"),
        ):
            ws.store.db.execute(
                "UPDATE runs SET spec = ? WHERE run_id = ?", [json.dumps({"as_of": as_of}), run]
            )
        (tmp_path / "campaigns.csv").write_text(
            "campaign_id,channel,cost,started_at\nS1,email,100,2024-07-01\n"
        )
        (tmp_path / "contacts.csv").write_text(
            "campaign_id,customer_id,segment,sent_at,sent,converted,revenue\n"
            "S1,C1,,2024-03-01 10:00,true,true,20\n"  # run 1: Bargain hunters
            "S1,C1,,2024-07-02 10:00,true,false,0\n"  # run 3: Loyal
            "S1,C2,Given,2024-03-01 10:00,true,true,30\n"  # the file's segment wins
            "S1,C3,,2024-03-01 10:00,true,false,0\n"  # in no run: (no segment)
            "S1,C2,,2023-12-01 10:00,true,false,0\n"  # before the first run: (no segment)
            "S1,C4,,,true,true,50\n"  # no sent_at: the campaign's start, run 3: Loyal
        )
        ws.ingest(tmp_path / "campaigns.csv", into="campaigns")
        ws.ingest(tmp_path / "contacts.csv", into="campaign_contacts")
    return path


def _by_segment(res: CampaignResults) -> dict[str | None, tuple[int, int]]:
    return {r.segment: (r.counts.reached, r.counts.conversions) for r in res.rows}


def test_segment_at_send_time_comes_from_the_run_active_then(history):
    with segmint.Workspace(history) as ws:
        timed = ws.campaigns(segmentation="life", by="segment")
        assert timed.notes == (
            "1 contact is shown as (no segment) because they were sent before the first run of "
            "'life' (a run counts from the date its data is as of) or have no send time; name a "
            "later run with --run to place them by its segments.",
            "1 contact is shown as (no segment) because the run active at send time did not "
            "assign them a segment (customers it did not know).",
        )
        got = _by_segment(timed)
        assert got == {
            "Bargain hunters": (1, 1),
            "Loyal": (2, 1),
            "Given": (1, 1),
            NO_SEGMENT: (2, 0),
        }
        pinned = _by_segment(ws.campaigns(segmentation="life", run="0001-segment", by="segment"))
        # a named run is used whatever the send time
        assert pinned == {"Bargain hunters": (4, 2), "Given": (1, 1), NO_SEGMENT: (1, 0)}
        plain = ws.campaigns(by="segment")
        assert _by_segment(plain) == {"Given": (1, 1), NO_SEGMENT: (5, 2)}
        assert "--segmentation" in plain.notes[0] and "5 contacts" in plain.notes[0]
        with pytest.raises(SegmintError, match="no segmentation named 'rfm'") as e:
            ws.campaigns(segmentation="rfm")
        assert "life" in str(e.value.fix)
        with pytest.raises(SegmintError, match="Run '0009-segment' has no segmentation"):
            ws.campaigns(segmentation="life", run="0009-segment")


def test_degenerate_costs_and_conversions_come_back_as_reasons(tmp_path):
    (tmp_path / "campaigns.csv").write_text("campaign_id,channel,cost\nFREE,email,0\nPAID,sms,50\n")
    (tmp_path / "contacts.csv").write_text(
        "campaign_id,customer_id,segment,sent,converted,revenue\n"
        "FREE,a,S,true,true,10\nFREE,b,S,true,false,0\n"
        "PAID,a,S,true,false,0\nPAID,b,S,true,false,0\n"
        "GONE,c,S,true,true,5\n"
        ",d,S,true,false,0\n"  # no campaign id
    )
    with segmint.Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest(tmp_path / "campaigns.csv", into="campaigns")
        ws.ingest(tmp_path / "contacts.csv", into="campaign_contacts")
        rows = {r.campaign_id: r for r in ws.campaigns(by="campaign").rows}
        res = campaign_results(ws.store)
    free, paid, gone = rows["FREE"], rows["PAID"], rows["GONE"]
    assert free.cost.value == 0 and free.cost_per_conversion.value == 0
    assert free.roi.value is None and "cost is 0" in str(free.roi.reason)
    assert paid.roi.value == -1.0  # nothing earned back
    assert (
        paid.cost_per_conversion.value is None
        and paid.cost_per_conversion.reason == "no conversions"
    )
    assert paid.conversion_rate.value == 0 and paid.conversion_rate.low == 0
    assert gone.cost.value is None and "not in the campaigns table" in str(gone.cost.reason)
    assert any("GONE" in n for n in res.notes)
    assert rows["(no campaign)"].counts.contacts == 1
    assert {r.channel for r in res.rows} == {"email", "sms", "(unknown channel)"}
    json.dumps(res.to_dict(), allow_nan=False)

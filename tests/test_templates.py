"""Message templates per segment (M12): rendering, the sandbox, the checks when a template is
written (spec, API, web form), the preview of 3 members and the exported merge-tag columns."""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from jinja2.sandbox import SecurityError
from typer.testing import CliRunner

import segmint
from segmint.activate.export import export_audience, list_exports
from segmint.activate.targeting import TargetingPlan
from segmint.activate.templates import apply_templates, check_templates, render, suggest
from segmint.api import Settings, create_app, first_admin_token, services
from segmint.cli import app as cli
from segmint.exceptions import SpecError
from segmint.spec.message import environment
from segmint.store.results import Plan
from tests.activate_support import make_workspace
from tests.test_web import csrf_of, sign_in

SUBJECT = 'Hi {{ first_name or "there" }}, {{ plan.offer }}'
BODY = (
    '{{ first_name or "Hello" }},\n{{ plan.message }}{% if city %} See you in {{ city }}.'
    "{% endif %}\n{{ segment.name }} · {{ segment.size }} · {{ segment.label }} · {{ plan.goal }}"
)
PLAN = Plan(
    goal="win back",
    channel="email",
    offer="10% off",
    message="We miss you.",
    subject=SUBJECT,
    body=BODY,
)
SEGMENT = {"name": "Lapsed", "label": "L", "size": 3}


def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "email": [
                "anna@example.com",
                "ben@example.com",
                "x@example.com",
                "d@example.com",
                None,
            ],
            "first_name": ["Anna", "Ben", None, '=HYPERLINK("http://evil.example","x")', "Eve"],
            "city": ["Berlin", None, "Paris", "Lyon", "Rome"],
            "consent_email": [True, True, True, True, True],
        }
    )


def workspace(path: Path, plans: dict[str, Plan] | None = None) -> segmint.store.Store:
    return make_workspace(
        path,
        customers(),
        {"c1": "L", "c2": "L", "c3": "L", "c4": "V", "c5": "V"},
        names={"L": "Lapsed", "V": "Loyal"},
        plans={"L": PLAN} if plans is None else plans,
    )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- rendering ---------------------------------------------------------------------------------


def test_renders_customer_segment_and_plan_fields() -> None:
    anna = {"first_name": "Anna", "city": "Berlin"}
    assert render(SUBJECT, anna, segment=SEGMENT, plan=PLAN, which="subject") == "Hi Anna, 10% off"
    assert render(BODY, anna, segment=SEGMENT, plan=PLAN) == (
        "Anna,\nWe miss you. See you in Berlin.\nLapsed · 3 · L · win back"
    )


def test_a_missing_first_name_takes_the_fallback_and_never_prints_none() -> None:
    nobody: dict[str, Any] = {"first_name": None, "city": None}
    assert render(SUBJECT, nobody, segment=SEGMENT, plan=PLAN) == "Hi there, 10% off"
    assert render("Dear {{ first_name }}.", nobody, segment=SEGMENT, plan=PLAN) == "Dear ."
    assert render("{{ city|title }}|{{ city|upper }}", nobody, segment=SEGMENT, plan=PLAN) == "|"
    fallback = '{{ first_name|default("friend") }}'
    assert render(fallback, nobody, segment=SEGMENT, plan=PLAN) == "friend"
    assert render(fallback, {"first_name": "Ana"}, segment=SEGMENT, plan=PLAN) == "Ana"
    assert render(BODY, nobody, segment=SEGMENT, plan=PLAN).startswith("Hello,\nWe miss you.\n")


def test_the_suggestion_reads_well_with_and_without_a_first_name() -> None:
    subject, body = suggest(PLAN)
    assert render(subject, {"first_name": "Anna"}, segment=SEGMENT, plan=PLAN) == (
        "Hi Anna, we miss you"
    )
    assert render(subject, {}, segment=SEGMENT, plan=PLAN) == "Hi there, we miss you"
    assert "We miss you." in render(body, {}, segment=SEGMENT, plan=PLAN)
    for goal in ("retain", "grow", "nurture", "a goal of my own"):
        check_templates(
            dict(zip(("subject", "body"), suggest(Plan(goal=goal)), strict=True)), where="x"
        )


# -- the sandbox and the checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("{{ ''.__class__.__mro__ }}", "internal attribute '__mro__', which the sandbox refuses"),
        ("{{ cycler.__init__.__globals__ }}", "internal attribute '__globals__'"),
        ("{{ segment['__class__'] }}", "internal attribute '__class__'"),
        ("{{ first_name|attr('__class__') }}", "unknown filter 'attr'"),
        ("{{ first_name.upper() }}", "a function or method call"),
        ("{{ plan.items }}", "unknown field 'plan.items'"),
        ("{% for c in first_name %}{{ c }}{% endfor %}", "a {% for %} loop"),
        ("{{ 'x' * 1000000000 }}", "the operator *"),
        ("{% set a = 1 %}", "{% set %}"),
        ("{% include 'x' %}", "{% include %}"),
    ],
)
def test_sandbox_escapes_and_unbounded_constructs_are_refused_when_saved(
    template: str, said: str
) -> None:
    with pytest.raises(SpecError) as err:
        check_templates({"body": template}, where="segment 'Lapsed' of clusters")
    text = str(err.value)
    assert said in text and "segment 'Lapsed' of clusters" in text and "body" in text


def test_the_environment_itself_refuses_what_the_check_would() -> None:
    env = environment()
    with pytest.raises(SecurityError):
        env.from_string("{{ ''.__class__.__mro__ }}").render()
    with pytest.raises(SecurityError):  # no globals: cycler is undefined, and its attributes
        env.from_string("{{ cycler.__init__.__globals__ }}").render()  # are refused
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ lipsum }}").render()
    with pytest.raises(SecurityError):  # a context dict's methods are not readable either
        env.from_string("{{ segment.items() }}").render(segment={"name": "x"})
    assert env.autoescape is False and env.undefined is jinja2.StrictUndefined


def test_syntax_errors_and_unknown_fields_say_where_what_and_how_to_fix() -> None:
    where = "segment 'Lapsed' of clusters"
    with pytest.raises(SpecError) as err:
        check_templates({"subject": "Hi {{ frist_name }}"}, where=where)
    e = err.value
    assert "subject template of segment 'Lapsed' of clusters" in e.problem
    assert "unknown field 'frist_name'" in e.problem and "did you mean 'first_name'" in e.problem
    assert e.where == f"{where}, subject" and e.fix and "{{ first_name }}" in e.fix
    with pytest.raises(SpecError) as err:
        check_templates({"body": "Hello\n{{ first_name }"}, where=where)
    assert "syntax error: unexpected '}'" in err.value.problem
    assert "line 2: {{ first_name }" in err.value.problem
    with pytest.raises(SpecError, match=r"did you mean 'segment\.name'"):
        check_templates({"body": "{{ segment.nmae }}"}, where=where)
    with pytest.raises(SpecError, match="fails for a customer with no contact fields"):
        check_templates({"body": "{{ first_name[0] }}"}, where=where)
    assert check_templates(
        {"body": "{% if first_name %}{{ first_name[0] }}{% endif %}"}, where=where
    )
    with pytest.raises(SpecError, match="at most 1,000 are allowed"):
        check_templates({"subject": "x" * 1001}, where=where)


# -- the spec -----------------------------------------------------------------------------------


def test_the_spec_checks_templates_when_it_is_loaded(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "templates:\n"
        "  clusters:\n"
        "    Lapsed: {subject: 'Hi {{ first_name or \"there\" }}', body: '{{ plan.message }}'}\n",
        encoding="utf-8",
    )
    spec = segmint.load_spec(good)
    assert spec.templates["clusters"]["Lapsed"].subject == 'Hi {{ first_name or "there" }}'
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "templates:\n"
        "  clusters:\n"
        "    Lapsed: {subject: 'Hi {{ frist_name }}', body: '{% if x %}'}\n"
        "    Loyal: {subjet: 'x'}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        segmint.load_spec(bad)
    problems = err.value.problems
    assert len(problems) == 3, problems
    assert any(
        p.startswith("templates.clusters.Lapsed.subject: unknown field 'frist_name'")
        and "Fix:" in p
        for p in problems
    )
    assert any(p.startswith("templates.clusters.Lapsed.body: syntax error") for p in problems)
    assert any(
        p.startswith("templates.clusters.Loyal.subjet: is not a known key") for p in problems
    )


def test_spec_templates_go_into_the_plans_by_label_or_name() -> None:
    plans = {
        "1": TargetingPlan("grow", "email", "cross-sell", "Picked for you."),
        "2": TargetingPlan("retain", "email", "vip", "Thank you."),
    }
    names = {"1": "Browsers", "2": "Champions"}
    out = apply_templates(
        plans,
        names,
        {"Champions": {"subject": SUBJECT}, "1": {"body": "{{ plan.message }}"}},
        segmentation="clusters",
    )
    assert out["2"].subject == SUBJECT and out["2"].body == ""
    assert out["1"].body == "{{ plan.message }}" and out["1"].subject == ""
    assert plans["2"].subject == ""  # a copy
    with pytest.raises(SpecError) as err:
        apply_templates(plans, names, {"Champs": {"body": "x"}}, segmentation="clusters")
    assert "'Champs'" in err.value.problem and "2 (Champions)" in str(err.value.fix)


def test_a_run_with_spec_templates_exports_them_to_mailchimp(tmp_path: Path) -> None:
    shop = segmint.datasets.make_retail(300, seed=3).to_files(tmp_path / "shop", format="csv")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "sources:\n"
        f"  - {{path: {shop['customers']}, as: customers}}\n"
        f"  - {{path: {shop['orders']}, as: orders}}\n"
        "segmentations:\n"
        "  - name: lifestyle\n    method: rules\n    rules:\n      Families: children > 0\n"
        "names:\n  lifestyle: {Families: Parents}\n"
        "templates:\n"
        "  lifestyle:\n"
        "    Parents:\n"
        "      subject: 'Hi {{ first_name or \"there\" }}, for the whole family'\n"
        "      body: '{{ segment.name }}: {{ plan.message }}'\n",
        encoding="utf-8",
    )
    ws = tmp_path / "w.duckdb"
    r = CliRunner().invoke(cli, ["run", "--spec", str(spec), "-w", str(ws), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    seg = json.loads((tmp_path / "report.json").read_text())["segmentations"][0]
    plan = seg["targeting"]["Families"]
    assert plan["subject"].startswith("Hi {{ first_name") and "{{ segment.name }}" in plan["body"]
    assert seg["targeting"]["Other"]["subject"] == ""
    with segmint.Workspace(ws) as w:
        done = export_audience(
            w.store,
            segmentation="lifestyle",
            segments=["Parents", "Other"],
            destination="mailchimp",
            out=tmp_path / "m.csv",
        )
    got = rows(tmp_path / "m.csv")
    assert len(got) == done.rows_written > 0
    parents = [row for row in got if row["Tags"] == "Parents"]
    assert parents and all(
        row["Message Subject"] == f"Hi {row['First Name'] or 'there'}, for the whole family"
        and row["Message Body"] == f"Parents: {plan['message']}"
        for row in parents
    )
    assert all(
        row["Message Subject"] == row["Message Body"] == "" for row in got if row["Tags"] == "Other"
    )


# -- export columns -----------------------------------------------------------------------------


def test_mailchimp_export_carries_the_rendered_subject_and_body(tmp_path: Path) -> None:
    store = workspace(tmp_path / "w.duckdb")
    out = tmp_path / "m.csv"
    export_audience(
        store, segmentation="seg", segments=["L", "V"], destination="mailchimp", out=out
    )
    got = {row["Email Address"]: row for row in rows(out)}
    assert list(next(iter(got.values()))) == [
        "Email Address",
        "First Name",
        "Last Name",
        "Tags",
        "Message Subject",
        "Message Body",
    ]
    assert got["anna@example.com"]["Message Subject"] == "Hi Anna, 10% off"
    assert got["anna@example.com"]["Message Body"] == (
        "Anna,\nWe miss you. See you in Berlin.\nLapsed · 3 · L · win back"
    )
    assert got["ben@example.com"]["Message Body"].startswith("Ben,\nWe miss you.\nLapsed")
    assert got["x@example.com"]["Message Subject"] == "Hi there, 10% off"  # no first name
    assert got["d@example.com"]["Message Subject"] == ""  # Loyal has no template
    # without any template the file has no message columns
    plain = tmp_path / "plain.csv"
    export_audience(store, segmentation="seg", segments=["V"], destination="mailchimp", out=plain)
    assert list(rows(plain)[0]) == ["Email Address", "First Name", "Last Name", "Tags"]
    # ad platforms never get them
    ads = tmp_path / "ads.csv"
    store.db.execute("UPDATE customers SET consent_ads = true")
    export_audience(
        store, segmentation="seg", segments=["L"], destination="google-ads", out=ads, min_size=1
    )
    assert not any("Message" in h for h in rows(ads)[0])


def test_a_template_that_fails_on_one_customer_stops_the_export_with_the_reason(
    tmp_path: Path,
) -> None:
    # passes the check (a sample first name, and none), fails on "Ben" (no 4th letter)
    plans = {"L": Plan(body="{% if first_name %}{{ first_name[3] }}{% endif %}")}
    store = workspace(tmp_path / "w.duckdb", plans)
    with pytest.raises(SpecError) as err:
        export_audience(
            store,
            segmentation="seg",
            segments=["L"],
            destination="mailchimp",
            out=tmp_path / "m.csv",
        )
    assert "body template of segment 'Lapsed' fails" in err.value.problem
    assert "first_name" in err.value.problem and err.value.fix
    assert not (tmp_path / "m.csv").exists()
    assert list_exports(store) == []


def test_deeply_nested_or_odd_templates_are_refused_not_crashed() -> None:
    for text in ["{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "{{ -" * 3000 + "1 }}"]:
        with pytest.raises(SpecError, match="too deeply"):
            check_templates({"body": text}, where="x")
    with pytest.raises(SpecError, match="fails for a sample customer"):
        check_templates({"body": "{{ first_name|truncate(-5) }}"}, where="x")


def test_formula_looking_rendered_text_is_neutralized_in_the_csv(tmp_path: Path) -> None:
    plans = {"V": Plan(subject="{{ first_name }}", body="-{{ plan.offer }} {{ city }}", offer="5")}
    store = workspace(tmp_path / "w.duckdb", plans)
    out = tmp_path / "all.csv"
    export_audience(store, segmentation="seg", segments=["V"], destination="csv", out=out)
    got = {row["customer_id"]: row for row in rows(out)}
    assert got["c4"]["message_subject"] == """'=HYPERLINK("http://evil.example","x")"""
    assert got["c4"]["message_body"] == "'-5 Lyon"
    assert got["c5"]["message_subject"] == "Eve"


# -- API and web app: save, refuse, preview -------------------------------------------------------


class Server:
    def __init__(self, root: Path) -> None:
        workspace(root / "w.duckdb").close()
        self.app = create_app(Settings(workspace=root / "w.duckdb"))
        state = self.app.state.segmint
        admin = first_admin_token(self.app)
        assert admin
        self.tokens = {"admin": admin}
        for role in ("viewer", "analyst"):
            self.tokens[role] = state.tokens.create(f"{role}-user", role)[1]
        self.client = TestClient(self.app)
        self.base = "/api/v1/runs/0001-segment/segmentations/seg/segments"

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("tmpl-api"))
    with s.client:
        yield s
    s.app.state.segmint.close()


def test_the_api_preview_renders_three_members(server: Server) -> None:
    r = server.client.get(f"{server.base}/L/preview", headers=server.headers("analyst"))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["suggested"] is False and data["subject"] == SUBJECT
    shown = {e["customer_id"]: e for e in data["examples"]}
    assert sorted(shown) == ["c1", "c2", "c3"]
    assert (
        shown["c1"]["subject"] == "Hi Anna, 10% off" and "See you in Berlin." in shown["c1"]["body"]
    )
    assert shown["c3"]["subject"] == "Hi there, 10% off"
    assert (
        server.client.get(f"{server.base}/L/preview", headers=server.headers("viewer")).status_code
        == 403
    )
    assert (
        server.client.get(
            f"{server.base}/nope/preview", headers=server.headers("analyst")
        ).status_code
        == 404
    )
    # a segment without templates previews the suggestion (and says so)
    other = server.client.get(f"{server.base}/V/preview", headers=server.headers("analyst")).json()
    assert other["suggested"] is True and len(other["examples"]) == 2
    assert {e["subject"] for e in other["examples"]} == {
        "Hi Eve, something for you",
        'Hi =HYPERLINK("http://evil.example","x"), something for you',
    }


def test_the_api_saves_templates_and_refuses_a_bad_one(server: Server) -> None:
    url, h = f"{server.base}/V", server.headers("analyst")
    bad = server.client.patch(url, headers=h, json={"targeting": {"subject": "{{ first_name }"}})
    assert bad.status_code == 400, bad.text
    assert "subject template of segment 'Loyal'" in bad.json()["problem"]
    assert bad.json()["fix"]
    ok = server.client.patch(
        url, headers=h, json={"targeting": {"subject": " {{ segment.name }} ", "body": "x"}}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["targeting"]["subject"] == "{{ segment.name }}"
    after = server.client.get(f"{url}/preview", headers=h).json()
    assert after["suggested"] is False and {e["subject"] for e in after["examples"]} == {"Loyal"}
    spec = server.app.openapi()
    assert "/api/v1/runs/{run_id}/segmentations/{name}/segments/{label}/preview" in spec["paths"]


def test_the_web_form_saves_templates_and_shows_the_preview(server: Server) -> None:
    client = TestClient(server.app)
    sign_in(client, server.tokens["analyst"])
    page = client.get("/runs/0001-segment/segment", params={"s": "seg", "label": "L"})
    assert page.status_code == 200, page.text
    assert 'name="subject"' in page.text and 'name="body"' in page.text
    assert "Message preview" in page.text and "Hi Anna, 10% off" in page.text
    token = csrf_of(page.text)
    form = {"csrf": token, "s": "seg", "label": "L", "goal": "win back", "channel": "email"}
    form |= {"offer": "free shipping", "message": "Come back.", "body": "{{ plan.offer }}!"}
    form["subject"] = "{{ first_name or 'you' }}, {{ plan.message }}"
    saved = client.post("/runs/0001-segment/plan", data=form, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "Anna, Come back." in page and "you, Come back." in page and "free shipping!" in page
    bad = client.post("/runs/0001-segment/plan", data={**form, "body": "{{ plan.ofer }}"})
    assert bad.status_code == 400 and "did you mean &#39;plan.offer&#39;" in bad.text
    # emptied, the plan has no template: the page previews the suggestion and can save it
    cleared = client.post("/runs/0001-segment/plan", data={**form, "subject": "", "body": ""})
    assert cleared.status_code == 200 and "Use this suggestion" in cleared.text
    assert "Hi Anna, we miss you" in cleared.text
    hidden = dict(
        re.findall(r'<input type="hidden" name="(subject|body)" value="([^"]*)"', cleared.text)
    )
    assert set(hidden) == {"subject", "body"}
    used = client.post(
        "/runs/0001-segment/plan",
        data={
            "csrf": token,
            "s": "seg",
            "label": "L",
            **{k: html.unescape(v) for k, v in hidden.items()},
        },
    )
    assert used.status_code == 200 and "Use this suggestion" not in used.text
    plan = services.get_segmentation(server.app.state.segmint.workspace(), "0001-segment", "seg")
    assert plan.targeting["L"].subject == suggest(plan.targeting["L"])[0]
    assert plan.targeting["L"].offer == "free shipping"  # the one-click form sends only templates
    viewer = TestClient(server.app)
    sign_in(viewer, server.tokens["viewer"])
    assert (
        "Message preview"
        not in viewer.get("/runs/0001-segment/segment", params={"s": "seg", "label": "L"}).text
    )


def test_the_docs_templates_section_runs_as_written() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "activation.md").read_text("utf-8")
    section = text.split("## Message templates", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "docs/activation.md: the templates section has no python example"
    for code in blocks:
        exec(compile(code, "docs/activation.md", "exec"), {})
    import yaml

    for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S):
        spec = segmint.spec.model.Spec.model_validate(yaml.safe_load(block))
        assert spec.templates

"""Message templates per segment (M12): applied to plans, previewed, rendered into exports.

A segment's plan holds a ``subject`` and a ``body`` template (the spec's ``templates:`` key, or
the web app's plan form). :mod:`segmint.spec.message` checks them when they are written and
holds the sandbox they render in; this module gives them their context and renders them:

- per customer: :data:`~segmint.spec.message.CUSTOMER_FIELDS` of the export's normalized
  contacts (:mod:`segmint.activate.contacts`: e-mail lower-cased, phone in E.164, …), a missing
  value being empty text (``{{ first_name or "there" }}`` gives a fallback);
- per segment: ``segment.name``, ``segment.label``, ``segment.size`` and ``plan.goal``,
  ``plan.channel``, ``plan.offer``, ``plan.message``.

Templates are opt-in: a plan without one has an empty subject and body, and its export has
no message columns. A template nobody has read should not reach customers, and a file's
columns should be the ones its user asked for; :func:`suggest` offers a starting point (the
web form shows it and can save it with one click).

Rendering for an export compiles each template once per segment, and renders once per distinct
combination of the customer fields it reads (``Hi {{ first_name }}`` renders once per first
name, not once per customer), so 100,000 rows take about a second.

>>> from segmint.store.results import Plan
>>> plan = Plan(goal="win back", message="We miss you: a special offer to come back.")
>>> subject, body = suggest(plan)
>>> render(subject, {"first_name": None}, segment={"name": "Lapsed"}, plan=plan)
'Hi there, we miss you'
>>> render(subject, {"first_name": "Anna"}, segment={"name": "Lapsed"}, plan=plan)
'Hi Anna, we miss you'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from operator import itemgetter
from typing import Any

import duckdb
import pandas as pd

from segmint.activate.contacts import build_contacts
from segmint.activate.targeting import TargetingPlan
from segmint.exceptions import SpecError
from segmint.spec.message import (
    CUSTOMER_FIELDS,
    PLAN_FIELDS,
    RENDER_ERRORS,
    SEGMENT_FIELDS,
    TEMPLATE_FIELDS,
    TemplateProblem,
    check_template,
    compile_template,
)
from segmint.store.results import Plan, SegmentationResult

__all__ = [
    "BODY_COLUMN",
    "PREVIEW_SIZE",
    "SUBJECT_COLUMN",
    "apply_templates",
    "check_templates",
    "has_template",
    "preview",
    "render",
    "rendered_messages",
    "suggest",
]

#: how many example members the preview renders
PREVIEW_SIZE = 3
#: the rendered columns' names while an export joins them (never seen in a file)
SUBJECT_COLUMN, BODY_COLUMN = "_segmint_subject", "_segmint_body"

_SUBJECTS = {
    "retain": "thank you for being one of our best customers",
    "grow": "we picked something for you",
    "win back": "we miss you",
    "nurture": "welcome aboard",
}
_GREETING = 'Hi {{ first_name or "there" }}'


def suggest(plan: Plan | TargetingPlan | Mapping[str, Any]) -> tuple[str, str]:
    """A starting subject and body for ``plan``: a greeting with a fallback for customers
    without a first name, the plan's goal in the subject and its message in the body."""
    goal = _get(plan, "goal")
    subject = f"{_GREETING}, {_SUBJECTS.get(goal, 'something for you')}"
    body = f"{_GREETING},\n\n{{{{ plan.message }}}}\n\nSee you soon!"
    return subject, body


def _get(obj: Any, key: str) -> str:
    value = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, "")
    return str(value or "")


def has_template(plan: Plan | TargetingPlan | None) -> bool:
    """Whether ``plan`` has a subject or body template."""
    return plan is not None and bool(plan.subject or plan.body)


def check_templates(fields: Mapping[str, str], *, where: str) -> dict[str, str]:
    """``fields`` (subject and/or body, stripped) once each template passed the check; a
    problem is a :class:`SpecError` saying where (``where``: which segment), which template,
    what was found and how to fix it."""
    out = {}
    for which, text in fields.items():
        text = str(text or "").replace("\r\n", "\n").strip()  # a form sends CRLF line breaks
        if text:
            try:
                check_template(text, which)
            except TemplateProblem as exc:
                raise SpecError(
                    f"The {which} template of {where} cannot be used: {exc.problem}",
                    where=f"{where}, {which}",
                    fix=exc.fix,
                ) from None
        out[which] = text
    return out


def _segment_context(result: SegmentationResult, label: str) -> dict[str, Any]:
    profile = result.profiles.segment(label)
    return {
        "name": profile.name if profile is not None else label,
        "label": label,
        "size": profile.size if profile is not None else 0,
    }


def _value(value: Any) -> Any:
    """A customer field as a template sees it: a missing value is empty text."""
    return "" if value is None else value


def _plan_context(plan: Plan | TargetingPlan | Mapping[str, Any] | None) -> dict[str, str]:
    return {f: _get(plan, f) if plan is not None else "" for f in PLAN_FIELDS}


def render(
    text: str,
    customer: Mapping[str, Any],
    *,
    segment: Mapping[str, Any],
    plan: Plan | TargetingPlan | Mapping[str, Any] | None,
    which: str = "body",
) -> str:
    """``text`` rendered for one customer (fields not given are missing) of ``segment``."""
    context = {f: _value(customer.get(f)) for f in CUSTOMER_FIELDS}
    context["segment"] = {f: segment.get(f) for f in SEGMENT_FIELDS}
    context["plan"] = _plan_context(plan)
    return compile_template(text, which).render(context) if text else ""


def apply_templates(
    plans: dict[str, TargetingPlan],
    names: Mapping[str, str],
    templates: Mapping[str, Any] | None,
    *,
    segmentation: str,
) -> dict[str, TargetingPlan]:
    """``plans`` with the spec's templates (segment label or name -> {subject, body}) set.

    The templates were checked when the spec was loaded; only the segments can be checked
    now, when the run knows them. An unknown segment is a :class:`SpecError`.
    """
    if not templates:
        return plans
    by_name = {name: label for label, name in names.items()}
    out = dict(plans)
    unknown = []
    for key, message in templates.items():
        label = key if key in plans else by_name.get(key)
        if label is None:
            unknown.append(key)
            continue
        fields = {
            w: getattr(message, w, None) if not isinstance(message, Mapping) else message.get(w)
            for w in TEMPLATE_FIELDS
        }
        checked = check_templates(
            {w: v for w, v in fields.items() if v}, where=f"segment '{key}' of {segmentation}"
        )
        out[label] = replace(
            out[label], **checked, reasons=[*out[label].reasons, "message templates from the spec"]
        )
    if unknown:
        shown = "; ".join(f"{lab} ({names.get(lab, lab)})" for lab in plans)
        raise SpecError(
            f"templates.{segmentation} names no segment of this run: "
            f"{', '.join(map(repr, unknown))}.",
            where=f"templates.{segmentation}",
            fix=f"key templates by segment label or name: {shown}.",
        )
    return out


def _reads(plan: Plan) -> list[str]:
    """The customer fields the plan's templates read (``customer_id`` first, always)."""
    used: set[str] = set()
    for which in TEMPLATE_FIELDS:
        if text := getattr(plan, which):
            used |= check_template(text, which)
    return ["customer_id", *(f for f in CUSTOMER_FIELDS if f in used and f != "customer_id")]


def _render_segment(
    rows: Sequence[tuple[Any, ...]], fields: list[str], plan: Plan, segment: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """(subjects, bodies) of ``rows`` (values of ``fields``), each template rendered once per
    distinct combination of the customer fields it reads."""
    shared = {"segment": segment, "plan": _plan_context(plan)}
    out: list[list[str]] = []
    for which in TEMPLATE_FIELDS:
        text = getattr(plan, which)
        if not text:
            out.append([""] * len(rows))
            continue
        template = compile_template(text, which)
        reads = [f for f in fields if f in check_template(text, which)]
        index = [fields.index(f) for f in reads]
        keys = list(map(itemgetter(*index), rows)) if index else [()] * len(rows)
        done = {}
        for key in dict.fromkeys(keys):
            values = (key,) if len(index) == 1 else key
            context = {f: _value(v) for f, v in zip(reads, values, strict=True)}
            try:
                done[key] = template.render({**context, **shared})
            except RENDER_ERRORS as exc:
                raise SpecError(
                    f"The {which} template of segment '{segment['name']}' fails for a customer "
                    f"on the values of {', '.join(reads) or 'no customer field'}: {exc}.",
                    where=f"segment '{segment['name']}' ({segment['label']}), {which}",
                    fix="guard the values this customer has, e.g. {% if first_name|length > 3 %}"
                    "…{% endif %}, then save the template again.",
                ) from None
        out.append([done[k] for k in keys])
    return out[0], out[1]


def rendered_messages(
    con: duckdb.DuckDBPyConnection,
    table: str,
    result: SegmentationResult,
    segments: Sequence[str],
    *,
    where: str = "_keep",
) -> pd.DataFrame | None:
    """The rendered subject and body of every row of ``table`` (the export's contacts) that
    matches ``where``, for the ``segments`` whose plan has a template: a frame of
    ``customer_id, segment`` and the two texts; None when no segment has a template."""
    frames = []
    for label in segments:
        plan = result.targeting.get(label)
        if plan is None or not has_template(plan):
            continue
        fields = _reads(plan)
        rows = con.execute(
            f"SELECT {', '.join(fields)} FROM {table} WHERE ({where}) AND segment = ?", [label]
        ).fetchall()
        subjects, bodies = _render_segment(rows, fields, plan, _segment_context(result, label))
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [r[0] for r in rows],
                    "segment": label,
                    SUBJECT_COLUMN: subjects,
                    BODY_COLUMN: bodies,
                },
                dtype="string",
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else None


def _example_ids(
    con: duckdb.DuckDBPyConnection, result: SegmentationResult, run_id: str, label: str, n: int
) -> list[str]:
    """The segment's example customers as its profile lists them, then the first by id."""
    profile = result.profiles.segment(label)
    examples = profile.examples if profile is not None else []
    wanted = [str(e["customer_id"]) for e in examples if e.get("customer_id") is not None]
    members = (
        "SELECT CAST(customer_id AS VARCHAR) FROM segment_assignments "
        "WHERE run_id = ? AND segmentation = ? AND segment = ? "
    )
    args = [run_id, result.name, label]
    found = {
        r[0]
        for r in con.execute(
            members + "AND list_contains(?, CAST(customer_id AS VARCHAR))", [*args, wanted]
        ).fetchall()
    }
    ids = [c for c in wanted if c in found][:n]
    if len(ids) < n:
        more = con.execute(
            members + "AND NOT list_contains(?, CAST(customer_id AS VARCHAR)) "
            "ORDER BY customer_id LIMIT ?",
            [*args, ids, n - len(ids)],
        ).fetchall()
        ids += [r[0] for r in more]
    return ids


def preview(
    con: duckdb.DuckDBPyConnection,
    result: SegmentationResult,
    run_id: str,
    label: str,
    *,
    subject: str | None = None,
    body: str | None = None,
    n: int = PREVIEW_SIZE,
    customer_key: str = "c.customer_id",
    customers: str = "customers",
) -> dict[str, Any]:
    """The segment's message rendered for ``n`` example members (real customers of the run).

    ``subject``/``body`` preview unsaved text (checked first); by default the plan's own
    templates, or :func:`suggest`'s when it has none (``suggested`` is then true).
    ``customer_key``, ``customers``: as :func:`~segmint.activate.contacts.build_contacts`
    takes them.
    """
    plan = result.targeting.get(label) or Plan()
    suggested = subject is None and body is None and not has_template(plan)
    if suggested:
        subject, body = suggest(plan)
    texts = check_templates(
        {
            "subject": plan.subject if subject is None else subject,
            "body": plan.body if body is None else body,
        },
        where=f"segment '{label}' of {result.name}",
    )
    shown = plan.model_copy(update=texts)
    table = "_segmint_preview_contacts"
    ids = _example_ids(con, result, run_id, label, n)
    try:
        build_contacts(
            con,
            table,
            run_id=run_id,
            segmentation=result.name,
            segments=[label],
            customer_ids=ids,
            customer_key=customer_key,
            customers=customers,
        )
        rows = con.execute(
            f"SELECT {', '.join(CUSTOMER_FIELDS)} FROM {table} ORDER BY list_position(?, _member)",
            [ids],
        ).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    subjects, bodies = _render_segment(
        rows, list(CUSTOMER_FIELDS), shown, _segment_context(result, label)
    )
    return {
        "segment": label,
        "subject": texts["subject"],
        "body": texts["body"],
        "suggested": suggested,
        "examples": [
            {
                "customer_id": r[0],
                "first_name": r[1],
                "email": r[3],
                "subject": s,
                "body": b,
            }
            for r, s, b in zip(rows, subjects, bodies, strict=True)
        ],
    }

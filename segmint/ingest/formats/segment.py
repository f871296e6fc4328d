"""Segment (and RudderStack) raw calls as JSON lines: track, page, screen and identify.

Each line is one call: ``{"type", "event", "name", "userId", "anonymousId", "timestamp",
"properties", "traits", "context", "messageId", "sentAt", "receivedAt", …}`` (RudderStack adds
``rudderId``, ``request_ip``, …). The same file feeds two tables; a row filter on the call
``type`` keeps the right calls for each (skipped calls are counted in the run's notes):

* ``--as events`` (the default): track, page and screen calls; identify, group and alias
  calls are skipped (rows of another or no type are kept).
  ``event_name`` is the track ``event``; page and screen calls become ``page: <name>`` /
  ``screen: <name>`` (just ``page`` / ``screen`` without a name). ``properties`` is the call's
  properties object; ``customer_id`` = userId, ``anonymous_id`` = anonymousId, ``occurred_at``
  = timestamp (UTC). ``context`` and the other fields are kept as extra columns.
* ``--as customers``: identify calls. ``customer_id`` = userId; email, first/last name, phone,
  gender, age, birthday, title, company, address and createdAt come from Segment's reserved
  ``traits``; the whole ``traits`` object is also kept as a JSON extra column (custom traits
  such as plan). A customer identified several times has several rows until ``clean``.
"""

from __future__ import annotations

from segmint.ingest.formats._base import Aux, SourceFormat, as_json

_SIGNATURE = (
    "type",
    "event",
    "userId",
    "anonymousId",
    "timestamp",
    "messageId",
    "properties",
    "context",
    "sentAt",
    "receivedAt",
    "originalTimestamp",
    "integrations",
)


def _object_without_nulls(col: str, dtype: str) -> str:
    """The properties object as JSON text, minus top-level null keys.

    DuckDB reads a JSON-lines column as one STRUCT with the union of every call's keys, so each
    call's object would otherwise list the other events' properties as nulls.
    """
    j = as_json(col, dtype)
    kept = (
        "(SELECT CAST(json_group_object(p.key, p.value) AS VARCHAR) "
        f"FROM (SELECT unnest(map_entries(CAST({j} AS MAP(VARCHAR, JSON)))) AS p) "
        "WHERE p.value IS NOT NULL AND CAST(p.value AS VARCHAR) <> 'null')"
    )
    text = f"CAST({col} AS VARCHAR)" if dtype.upper() == "VARCHAR" else f"CAST({j} AS VARCHAR)"
    return (
        f"CASE WHEN {col} IS NULL THEN NULL "
        f"WHEN {j} IS NULL THEN {text} "
        f"WHEN json_type({j}) = 'OBJECT' THEN coalesce({kept}, '{{}}') "
        f"ELSE CAST({j} AS VARCHAR) END"
    )


def _trait(*paths: str) -> str:
    return "coalesce(" + ", ".join(f"json_extract_string(traits, '$.{p}')" for p in paths) + ")"


EVENTS = SourceFormat(
    family="segment",
    entity="events",
    title="Segment / RudderStack track, page and screen calls (JSON lines)",
    signature=_SIGNATURE,
    aliases={
        "event_name": ("event",),
        "customer_id": ("userId",),
        "anonymous_id": ("anonymousId",),
        "occurred_at": ("timestamp", "originalTimestamp", "receivedAt"),
        "properties": ("properties",),
    },
    aux={
        "call_type": Aux("VARCHAR", ("type",)),
        "call_name": Aux("VARCHAR", ("name",)),
        # identify-only; read (and dropped) so that events get no all-empty traits column
        "traits": Aux("JSON", ("traits",)),
    },
    raw={"properties": _object_without_nulls},
    override={
        "event_name": (
            "CASE WHEN lower(call_type) IN ('page', 'screen') "
            "THEN lower(call_type) || coalesce(': ' || call_name, '') "
            "ELSE coalesce(event_name, lower(call_type)) END"
        ),
    },
    row_filter="call_type IS NULL OR lower(call_type) NOT IN ('identify', 'group', 'alias')",
    timezone="UTC",
    min_score=0.6,
)

CUSTOMERS = SourceFormat(
    family="segment",
    entity="customers",
    title="Segment / RudderStack identify calls (JSON lines)",
    signature=_SIGNATURE,
    aliases={"customer_id": ("userId",)},
    aux={
        "call_type": Aux("VARCHAR", ("type",)),
        # track/page fields, empty on identify calls: read and dropped
        "event": Aux("VARCHAR", ("event",)),
        "call_name": Aux("VARCHAR", ("name",)),
        "properties": Aux("JSON", ("properties",)),
        "category": Aux("VARCHAR", ("category",)),
    },
    derive={
        "email": _trait("email"),
        "first_name": _trait("firstName", "first_name"),
        "last_name": _trait("lastName", "last_name"),
        "phone": _trait("phone"),
        "gender": _trait("gender"),
        "age": "TRY_CAST(" + _trait("age") + " AS INTEGER)",
        "birth_date": "CAST(TRY_CAST(" + _trait("birthday") + " AS TIMESTAMPTZ) AS DATE)",
        "occupation": _trait("title"),
        "company": (
            "coalesce(json_extract_string(traits, '$.company.name'), CASE WHEN "
            "json_type(traits, '$.company') = 'VARCHAR' THEN json_extract_string(traits, "
            "'$.company') END)"
        ),
        "industry": _trait("company.industry", "industry"),
        "company_size": "TRY_CAST(" + _trait("company.employee_count") + " AS INTEGER)",
        "city": _trait("address.city", "city"),
        "region": _trait("address.state", "state"),
        "country": _trait("address.country", "country"),
        "postal_code": _trait("address.postalCode", "address.postal_code", "postalCode"),
        "signup_at": "timezone('UTC', TRY_CAST(" + _trait("createdAt") + " AS TIMESTAMPTZ))",
    },
    row_filter="lower(call_type) = 'identify'",
    timezone="UTC",
    min_score=0.6,
)

FORMATS = (EVENTS, CUSTOMERS)

"""Google Analytics 4 BigQuery export (``events_YYYYMMDD`` tables), as NDJSON or Parquet.

One row per event: ``event_date`` ('YYYYMMDD'), ``event_timestamp`` (INT64 microseconds since
the epoch, UTC; JSON exports write INT64 as strings), ``event_name``, ``event_params``
(``ARRAY<STRUCT<key STRING, value STRUCT<string_value, int_value, float_value,
double_value>>>``), ``user_id``, ``user_pseudo_id``, ``user_properties``, ``device``, ``geo``,
``traffic_source``, ``ecommerce``, ``items``, … Nested columns that are not mapped are kept as
JSON extra columns.

* ``occurred_at`` from ``event_timestamp`` (the epoch unit is read from the magnitude: µs).
* ``customer_id`` = ``user_id`` (set only when the site sends one), ``anonymous_id`` =
  ``user_pseudo_id`` (the GA client id).
* ``properties`` = ``event_params`` flattened to one JSON object ``{key: value}``, the value
  being whichever of string_value / int_value / double_value / float_value is set (int64
  strings become JSON numbers). Other shapes are kept as their JSON.
"""

from __future__ import annotations

from segmint.ingest.formats._base import SourceFormat, as_json


def flatten_params(col: str, dtype: str) -> str:
    """SQL turning GA4 ``event_params`` (in any shape DuckDB read it) into a JSON object text.

    Works on ``STRUCT(key, value STRUCT(...))[]`` (Parquet), on the partly-JSON structs the
    NDJSON reader infers, on ``JSON``/``JSON[]`` and on JSON text; what is not an array of
    ``{key, value}`` entries is passed on as its JSON.
    """
    j = as_json(col, dtype)
    value = (
        "coalesce("
        "to_json(json_extract_string(e, '$.value.string_value')), "
        "to_json(TRY_CAST(json_extract_string(e, '$.value.int_value') AS BIGINT)), "
        "to_json(TRY_CAST(json_extract_string(e, '$.value.double_value') AS DOUBLE)), "
        "to_json(TRY_CAST(json_extract_string(e, '$.value.float_value') AS DOUBLE)), "
        "CAST('null' AS JSON))"
    )
    flat = (
        f"(SELECT CAST(json_group_object(json_extract_string(e, '$.key'), {value}) AS VARCHAR) "
        f"FROM (SELECT unnest(CAST(json_extract({j}, '$[*]') AS JSON[])) AS e) "
        "WHERE json_extract_string(e, '$.key') IS NOT NULL)"
    )
    text = f"CAST({col} AS VARCHAR)" if dtype.upper() == "VARCHAR" else f"CAST({j} AS VARCHAR)"
    return (
        f"CASE WHEN {col} IS NULL THEN NULL "
        f"WHEN {j} IS NULL THEN {text} "
        f"WHEN json_type({j}) = 'ARRAY' THEN coalesce({flat}, '{{}}') "
        f"ELSE CAST({j} AS VARCHAR) END"
    )


EVENTS = SourceFormat(
    family="ga4",
    entity="events",
    title="GA4 BigQuery export events",
    # the core columns, so that a query selecting only the event columns is still recognised
    signature=(
        "event_date",
        "event_timestamp",
        "event_name",
        "event_params",
        "user_id",
        "user_pseudo_id",
        "user_properties",
        "device",
        "geo",
        "traffic_source",
        "stream_id",
        "platform",
    ),
    aliases={
        "occurred_at": ("event_timestamp",),
        "event_name": ("event_name",),
        "customer_id": ("user_id",),
        "anonymous_id": ("user_pseudo_id",),
        "properties": ("event_params",),
    },
    raw={"properties": flatten_params},
    timezone="UTC",
    min_score=0.5,
)

FORMATS = (EVENTS,)

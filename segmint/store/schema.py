"""The canonical data model: every table and column that imported data lands in, as data.

The other workspace tables (runs, results, the server's) are declared in
:mod:`segmint.store.tables`, which lists these too; ``docs/data-model.md`` is generated from
both (``python -m segmint.store.tables``) and a test keeps it equal to the code. Types are
DuckDB SQL types. All timestamps are UTC, stored without a zone. Every canonical table also
carries two lineage columns, ``_run_id`` (the ingest or clean run that wrote the row) and
``_row`` (1-based data row in the source file, header excluded), so any quality issue can
name its file and row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CANONICAL", "IBIS_TYPES", "LINEAGE", "Column", "TableSchema"]


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    unit: str | None = None


@dataclass(frozen=True)
class TableSchema:
    name: str
    description: str
    columns: tuple[Column, ...]
    #: each entry is a set of alternatives; at least one column of each set must be mapped.
    required: tuple[tuple[str, ...], ...] = ()
    key: tuple[str, ...] = ()
    derived_note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


LINEAGE: tuple[Column, ...] = (
    Column("_run_id", "VARCHAR", "Run that wrote this row (see the runs table)."),
    Column("_row", "BIGINT", "1-based data row in the source file (header excluded)."),
)

#: the canonical SQL types as Ibis types (engines other than DuckDB build tables from them);
#: JSON (event properties) is kept as its text there: Parquet and Spark have no JSON type
IBIS_TYPES = {
    "JSON": "string",
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp",
    "DOUBLE": "float64",
    "BOOLEAN": "boolean",
    "BIGINT": "int64",
    "INTEGER": "int32",
    "DATE": "date",
}

_S = "VARCHAR"
_TS = "TIMESTAMP"
_D = "DOUBLE"
_B = "BOOLEAN"

CUSTOMERS = TableSchema(
    "customers",
    "One row per customer (deduplicated by customer_id in `clean`).",
    (
        Column("customer_id", _S, "Customer identifier as given by the source (text)."),
        Column("email", _S, "E-mail address, trimmed and lower-cased by `clean`."),
        Column("phone", _S, "Phone number in E.164 form (+4930123456) after `clean`."),
        Column("first_name", _S, "Given name."),
        Column("last_name", _S, "Family name."),
        Column("birth_date", "DATE", "Date of birth."),
        Column("age", "INTEGER", "Age in years, when no birth date is given.", "years"),
        Column("gender", _S, "Gender as given."),
        Column("income", _D, "Annual income.", "currency units per year"),
        Column("education", _S, "Highest education level."),
        Column("occupation", _S, "Occupation or job title."),
        Column("household_size", "INTEGER", "People in the household.", "people"),
        Column("children", "INTEGER", "Children in the household.", "children"),
        Column("country", _S, "ISO 3166-1 alpha-2 country code after `clean` (GB, US, DE)."),
        Column("region", _S, "State, province or region."),
        Column("city", _S, "City."),
        Column("postal_code", _S, "Postal code (text; leading zeros kept)."),
        Column("urban_rural", _S, "urban, suburban or rural."),
        Column("signup_at", _TS, "When the customer signed up or was created (UTC)."),
        Column("company", _S, "Company name (B2B)."),
        Column("industry", _S, "Industry (B2B)."),
        Column("company_size", "INTEGER", "Number of employees (B2B).", "employees"),
        Column("annual_revenue", _D, "Company annual revenue (B2B).", "currency units per year"),
        Column("consent_email", _B, "May be contacted by e-mail."),
        Column("consent_sms", _B, "May be contacted by SMS."),
        Column("consent_ads", _B, "May be included in ad-platform audiences."),
        Column(
            "consent_profiling",
            _B,
            "False when the customer objected to profiling: left out of segmentations "
            "(missing: not objected).",
        ),
        Column("consent_at", _TS, "When the consent flags were given or last changed (UTC)."),
    ),
    required=(("customer_id", "email"),),
    key=("customer_id",),
    derived_note="If only an e-mail is given, customer_id is the lower-cased e-mail. `clean` adds "
    "a row for every customer_id seen in orders but missing here.",
)

ORDERS = TableSchema(
    "orders",
    "One row per order line. Cancellations, refunds and returns are kept and marked.",
    (
        Column(
            "order_id",
            _S,
            "Order or invoice identifier. Derived as customer_id|ordered_at if absent.",
        ),
        Column("customer_id", _S, "Customer identifier; NULL for guest orders."),
        Column("ordered_at", _TS, "Time of the order (UTC)."),
        Column("product_id", _S, "Product or SKU identifier."),
        Column("product_name", _S, "Product name or description."),
        Column("category", _S, "Product category."),
        Column("quantity", _D, "Units on this line; negative for returns.", "units"),
        Column("unit_price", _D, "Price per unit.", "currency units"),
        Column(
            "amount",
            _D,
            "Line total (quantity × unit_price − discount when not given).",
            "currency units",
        ),
        Column("currency", _S, "ISO 4217 currency code (GBP, EUR, USD)."),
        Column("discount", _D, "Discount on this line.", "currency units"),
        Column("channel", _S, "Sales channel (web, store, app, phone, marketplace)."),
        Column("status", _S, "paid, pending, refunded or cancelled."),
        Column("returned", _B, "True when the line is a return (negative quantity or marked)."),
        Column("email", _S, "Customer e-mail as given on the order (used to fill customers)."),
        Column("country", _S, "Customer country as given on the order, ISO alpha-2 after `clean`."),
    ),
    required=(("ordered_at",), ("amount", "unit_price"), ("customer_id", "email")),
    derived_note="amount = quantity × unit_price − discount when only those are given; status "
    "defaults to paid (refunded when amount < 0); returned defaults to quantity < 0.",
)

EVENTS = TableSchema(
    "events",
    "Website, app and e-mail behaviour: one row per event.",
    (
        Column("customer_id", _S, "Known customer identifier, when the visitor is identified."),
        Column("anonymous_id", _S, "Anonymous or device identifier."),
        Column("occurred_at", _TS, "Time of the event (UTC)."),
        Column("event_name", _S, "Event name (page_view, add_to_cart, email_open, purchase)."),
        Column("properties", "JSON", "Event properties as a JSON object."),
    ),
    required=(("occurred_at",), ("event_name",), ("customer_id", "anonymous_id")),
)

FEEDBACK = TableSchema(
    "feedback",
    "Surveys, reviews and social posts. Survey items (Likert answers) are kept as extra columns.",
    (
        Column("customer_id", _S, "Customer (or survey respondent) identifier."),
        Column("feedback_id", _S, "The answer's, review's or post's own id in the source."),
        Column("answered_at", _TS, "When the answer or review was given (UTC)."),
        Column("source", _S, "survey, review or social."),
        Column("rating", _D, "Rating (e.g. 1–5 stars or 0–10 NPS).", "points"),
        Column("text", _S, "Free text of the answer or review."),
    ),
    required=(("customer_id",),),
)

CAMPAIGNS = TableSchema(
    "campaigns",
    "Marketing campaigns.",
    (
        Column("campaign_id", _S, "Campaign identifier."),
        Column("name", _S, "Campaign name."),
        Column("channel", _S, "email, sms, ads, direct_mail, …"),
        Column("cost", _D, "Total cost.", "currency units"),
        Column("started_at", _TS, "Start (UTC)."),
        Column("ended_at", _TS, "End (UTC)."),
    ),
    required=(("campaign_id",),),
    key=("campaign_id",),
)

CAMPAIGN_CONTACTS = TableSchema(
    "campaign_contacts",
    "One row per customer contacted in a campaign, with the outcome.",
    (
        Column("campaign_id", _S, "Campaign identifier."),
        Column("customer_id", _S, "Customer identifier."),
        Column("segment", _S, "Segment the customer was in at send time."),
        Column("variant", _S, "A, B, … or control."),
        Column("sent_at", _TS, "When the message was sent (UTC)."),
        Column("sent", _B, "Message was sent."),
        Column("opened", _B, "Message was opened."),
        Column("clicked", _B, "A link was clicked."),
        Column("converted", _B, "The customer converted (bought) within the attribution window."),
        Column("revenue", _D, "Revenue attributed to the contact.", "currency units"),
    ),
    required=(("campaign_id",), ("customer_id",)),
)

CANONICAL: dict[str, TableSchema] = {
    t.name: t for t in (CUSTOMERS, ORDERS, EVENTS, FEEDBACK, CAMPAIGNS, CAMPAIGN_CONTACTS)
}

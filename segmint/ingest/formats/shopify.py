"""Shopify admin exports: orders (orders_export.csv) and customers (customers_export.csv).

**Orders** come one row per line item. Order-level fields (Email, Financial Status, Currency,
Created at, Source, Billing Country, Cancelled at, …) are written on the first line of each
order only, so they are filled down within the order (grouped by ``Name``, e.g. ``#1001``).

* ``customer_id`` is ``lower(trim(Email))``: the orders export carries no customer id, so the
  e-mail is the only key shared with the customers export (guest orders without an e-mail get
  no customer).
* ``amount`` = Lineitem quantity × Lineitem price − Lineitem discount (the line's share of
  discounts). The order-level ``Total`` (with shipping and taxes, first line only) is read as
  auxiliary input and not stored, so it can never be mistaken for a line amount; Subtotal,
  Shipping, Taxes, Discount Amount and Refunded Amount stay as extra columns (first line only).
* ``status`` from Financial Status: paid / partially_paid / partially_refunded → paid,
  refunded → refunded, pending / authorized → pending, voided / expired → cancelled; any order
  with a ``Cancelled at`` time is cancelled.
* ``ordered_at`` from ``Created at`` (``2024-01-15 10:23:45 -0500``), converted to UTC.

**Customers**: ``customer_id`` is the same ``lower(trim(Email))`` key so both exports join; a
customer without an e-mail falls back to ``shopify:<Customer ID>``. Consent flags come from
Accepts Email Marketing (older exports: Accepts Marketing) and Accepts SMS Marketing. The
export writes phone numbers and zips with a leading apostrophe (``'+16135550101``, so that
spreadsheets keep them as text); it is removed.
"""

from __future__ import annotations

from segmint.ingest.formats._base import Aux, SourceFormat


def _strip_apostrophe(col: str, dtype: str) -> str:
    """Shopify writes ``'+16135550101`` / ``'02134`` so spreadsheets keep them as text."""
    return f"regexp_replace(CAST({col} AS VARCHAR), '^\\s*''', '')"


ORDERS = SourceFormat(
    family="shopify",
    entity="orders",
    title="Shopify orders export (orders_export.csv)",
    signature=(
        "Name",
        "Financial Status",
        "Paid at",
        "Fulfillment Status",
        "Fulfilled at",
        "Subtotal",
        "Shipping",
        "Taxes",
        "Total",
        "Created at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
        "Billing Name",
        "Shipping Name",
        "Cancelled at",
    ),
    aliases={
        "order_id": ("Name",),
        "email": ("Email",),
        "ordered_at": ("Created at",),
        "product_id": ("Lineitem sku",),
        "product_name": ("Lineitem name",),
        "quantity": ("Lineitem quantity",),
        "unit_price": ("Lineitem price",),
        "discount": ("Lineitem discount",),
        "currency": ("Currency",),
        "channel": ("Source",),
        "status": ("Financial Status",),
        "country": ("Billing Country", "Shipping Country"),
    },
    aux={
        "cancelled_at": Aux("TIMESTAMP", ("Cancelled at",)),
        # claimed so that the generic 'total' alias cannot turn the order total into a line amount
        "order_total": Aux("DOUBLE", ("Total",)),
    },
    fill_down=("email", "ordered_at", "currency", "channel", "status", "country", "cancelled_at"),
    fill_key="order_id",
    derive={
        "customer_id": "lower(trim(email))",
        "amount": "round(quantity * unit_price - coalesce(discount, 0), 4)",
    },
    override={
        "status": (
            "CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled' "
            "WHEN status IS NULL THEN 'paid' "
            "WHEN lower(status) IN ('paid', 'partially_paid', 'partially_refunded') THEN 'paid' "
            "WHEN lower(status) = 'refunded' THEN 'refunded' "
            "WHEN lower(status) IN ('pending', 'authorized') THEN 'pending' "
            "WHEN lower(status) IN ('voided', 'expired') THEN 'cancelled' "
            "ELSE lower(status) END"
        ),
    },
    min_score=0.6,
)

CUSTOMERS = SourceFormat(
    family="shopify",
    entity="customers",
    title="Shopify customers export (customers_export.csv)",
    signature=(
        "First Name",
        "Last Name",
        "Email",
        "Phone",
        "Accepts Email Marketing",
        "Accepts Marketing",
        "Accepts SMS Marketing",
        "Total Spent",
        "Total Orders",
        "Tags",
        "Note",
        "Tax Exempt",
    ),
    aliases={
        "email": ("Email",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "phone": ("Phone", "Default Address Phone"),
        "company": ("Default Address Company", "Company"),
        "city": ("Default Address City", "City"),
        "region": ("Default Address Province Code", "Province Code", "Province"),
        "country": ("Default Address Country Code", "Country Code", "Country"),
        "postal_code": ("Default Address Zip", "Zip"),
        "consent_email": ("Accepts Email Marketing", "Accepts Marketing"),
        "consent_sms": ("Accepts SMS Marketing",),
    },
    aux={"shopify_customer_id": Aux("VARCHAR", ("Customer ID",))},
    raw={"phone": _strip_apostrophe, "postal_code": _strip_apostrophe},
    derive={"customer_id": "coalesce(lower(trim(email)), 'shopify:' || shopify_customer_id)"},
    min_score=0.6,
)

FORMATS = (ORDERS, CUSTOMERS)

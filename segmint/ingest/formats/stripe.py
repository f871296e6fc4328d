"""Stripe dashboard payments export (unified_payments.csv; older payments.csv).

One row per payment (charge): ``id``, ``Created date (UTC)`` (older: ``Created (UTC)``),
``Amount``, ``Amount Refunded``, ``Currency`` (lower-case), ``Captured``, ``Status``
(Paid, Failed, Refunded, Uncaptured, …), ``Customer ID``, ``Customer Email``,
``Card Address Country``, ``Description`` and many more, which are kept as extra columns.

* ``order_id`` is the payment ``id``; each payment is one order line.
* ``amount`` is *net*: Amount − Amount Refunded, so a partial refund lowers revenue and a full
  refund leaves 0 (the features sum amounts of lines that are not cancelled).
* ``status``: Failed (and other unsuccessful states) → cancelled; Refunded, Disputed or fully
  refunded → refunded; not captured → pending; otherwise paid (a partial refund stays paid,
  with the net amount).
* ``customer_id`` is the Stripe ``Customer ID`` (cus_…), else the lower-cased Customer Email.
* ``currency`` is upper-cased (usd → USD). All times in the export are UTC.
"""

from __future__ import annotations

from segmint.ingest.formats._base import Aux, SourceFormat

PAYMENTS = SourceFormat(
    family="stripe",
    entity="orders",
    title="Stripe payments export (unified_payments.csv)",
    signature=(
        "id",
        "Created date (UTC)",
        "Created (UTC)",
        "Amount",
        "Amount Refunded",
        "Currency",
        "Captured",
        "Converted Amount",
        "Converted Amount Refunded",
        "Converted Currency",
        "Fee",
        "Status",
        "Seller Message",
        "Statement Descriptor",
        "Customer ID",
        "Customer Email",
        "Customer Description",
        "Card Address Country",
        "Card Brand",
        "Card Last4",
        "PaymentIntent ID",
        "Mode",
    ),
    aliases={
        "order_id": ("id",),
        "ordered_at": ("Created date (UTC)", "Created (UTC)", "Created"),
        "amount": ("Amount",),
        "currency": ("Currency",),
        "status": ("Status",),
        "customer_id": ("Customer ID",),
        "email": ("Customer Email",),
        "country": ("Card Address Country",),
        "product_name": ("Description",),
    },
    aux={
        "amount_refunded": Aux("DOUBLE", ("Amount Refunded",)),
        "captured": Aux("BOOLEAN", ("Captured",)),
    },
    override={
        "amount": "round(amount - coalesce(amount_refunded, 0), 4)",
        "currency": "upper(currency)",
        "customer_id": "coalesce(customer_id, lower(trim(email)))",
        "status": (
            "CASE WHEN lower(status) IN ('failed', 'canceled', 'cancelled', 'blocked', "
            "'incomplete', 'expired', 'voided') THEN 'cancelled' "
            "WHEN lower(status) IN ('refunded', 'disputed') "
            "OR (amount > 0 AND coalesce(amount_refunded, 0) >= amount) THEN 'refunded' "
            "WHEN lower(status) IN ('uncaptured', 'pending', 'requires_capture') "
            "OR captured = false THEN 'pending' "
            "ELSE 'paid' END"
        ),
    },
    timezone="UTC",
    min_score=0.5,
)

FORMATS = (PAYMENTS,)

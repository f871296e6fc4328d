"""UCI Online Retail (and Online Retail II) line items.

InvoiceNo / Invoice, StockCode, Description, Quantity, InvoiceDate, UnitPrice / Price,
CustomerID / "Customer ID", Country. Invoices starting with "C" are cancellations (credit
notes with negative quantities); they are kept, marked ``cancelled``, and their negative
amounts net against revenue. Lines with a negative quantity are marked ``returned``.
"""

from __future__ import annotations

from segmint.ingest.formats._base import SourceFormat

ONLINE_RETAIL = SourceFormat(
    family="online_retail",
    entity="orders",
    title="UCI Online Retail line items",
    signature=(
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
        "Invoice",
        "Price",
        "Customer ID",
    ),
    aliases={
        "order_id": ("InvoiceNo", "Invoice"),
        "product_id": ("StockCode",),
        "product_name": ("Description",),
        "quantity": ("Quantity",),
        "ordered_at": ("InvoiceDate",),
        "unit_price": ("UnitPrice", "Price"),
        "customer_id": ("CustomerID", "Customer ID"),
        "country": ("Country",),
    },
    derive={
        "amount": "round(quantity * unit_price, 4)",
        "currency": "'GBP'",
    },
    override={
        "status": "CASE WHEN upper(order_id) LIKE 'C%' THEN 'cancelled' ELSE 'paid' END",
        "returned": "coalesce(quantity < 0, false)",
    },
    min_score=0.6,
)
FORMATS = (ONLINE_RETAIL,)

"""HubSpot CRM contacts export (Contacts → Export, CSV).

``Record ID``, ``First Name``, ``Last Name``, ``Email``, ``Phone Number``, ``Mobile Phone
Number``, ``Company Name``, ``Industry``, ``Number of Employees``, ``Annual Revenue``, ``City``,
``State/Region``, ``Country/Region``, ``Postal Code``, ``Create Date``, ``Lifecycle Stage``,
``Job Title``, ``Marketing contact status``, ``Unsubscribed from all email``, … Everything not
mapped (Lifecycle Stage, Lead Status, Contact owner, …) is kept as an extra column.

* ``customer_id`` is the ``Record ID`` (older exports: Contact ID / VID).
* ``phone`` is Phone Number, else Mobile Phone Number.
* ``company_size``: the contact property is a range (``25-50``, ``1000+``); its lower bound is
  stored (a plain number is kept as is).
* ``consent_email`` is NOT ``Unsubscribed from all email`` (empty means not unsubscribed).
* HubSpot writes dates without a zone, in the exporting user's time zone: pass ``--timezone``
  (default UTC) to convert ``Create Date`` correctly.
"""

from __future__ import annotations

from segmint.ingest.formats._base import Aux, SourceFormat


def _range_lower_bound(col: str, dtype: str) -> str:
    """'25-50' → '25', '1,000+' → '1000', '10 001+' → '10001'; other values unchanged."""
    v = f"trim(CAST({col} AS VARCHAR))"
    return (
        f"CASE WHEN regexp_matches({v}, '^[0-9][0-9, ]*\\s*(-|–|\\+|to\\s)') "
        f"THEN regexp_replace(regexp_extract({v}, '^([0-9][0-9, ]*)', 1), '[, ]', '', 'g') "
        f"ELSE {v} END"
    )


CONTACTS = SourceFormat(
    family="hubspot",
    entity="customers",
    title="HubSpot contacts export",
    signature=(
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Mobile Phone Number",
        "Company Name",
        "Create Date",
        "Lifecycle Stage",
        "Lead Status",
        "Contact owner",
        "Last Activity Date",
        "Marketing contact status",
        "Job Title",
        "State/Region",
        "Country/Region",
        "Postal Code",
        "Unsubscribed from all email",
    ),
    aliases={
        "customer_id": ("Record ID", "Contact ID", "VID"),
        "email": ("Email",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "phone": ("Phone Number",),
        "company": ("Company Name",),
        "industry": ("Industry",),
        "company_size": ("Number of Employees",),
        "annual_revenue": ("Annual Revenue",),
        "city": ("City",),
        "region": ("State/Region",),
        "country": ("Country/Region",),
        "postal_code": ("Postal Code",),
        "signup_at": ("Create Date",),
        "occupation": ("Job Title",),
    },
    aux={
        "mobile_phone": Aux("VARCHAR", ("Mobile Phone Number",)),
        "unsubscribed": Aux("BOOLEAN", ("Unsubscribed from all email",)),
    },
    raw={"company_size": _range_lower_bound},
    override={"phone": "coalesce(phone, mobile_phone)"},
    derive={"consent_email": "NOT coalesce(unsubscribed, false)"},
    min_score=0.5,
)

FORMATS = (CONTACTS,)

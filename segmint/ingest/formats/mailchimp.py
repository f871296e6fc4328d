"""Mailchimp audience export (Audience → Export Audience: one CSV per member status).

``Email Address``, ``First Name``, ``Last Name``, ``Address``, ``Phone Number``, ``Birthday``
plus Mailchimp's system columns ``MEMBER_RATING``, ``OPTIN_TIME``, ``OPTIN_IP``,
``CONFIRM_TIME``, ``CONFIRM_IP``, ``LATITUDE``, ``LONGITUDE``, ``GMTOFF``, ``DSTOFF``,
``TIMEZONE``, ``CC``, ``REGION``, ``LAST_CHANGED``, ``LEID``, ``EUID``, ``NOTES``, ``TAGS``. The
unsubscribed file adds ``UNSUB_TIME``, ``UNSUB_CAMPAIGN_TITLE``, ``UNSUB_CAMPAIGN_ID``,
``UNSUB_REASON``, ``UNSUB_REASON_OTHER``; the cleaned file ``CLEAN_TIME``,
``CLEAN_CAMPAIGN_TITLE``, ``CLEAN_CAMPAIGN_ID``.

* ``customer_id`` = ``lower(trim(Email Address))`` (LEID/EUID are Mailchimp-internal and kept
  as extra columns).
* ``signup_at`` = OPTIN_TIME, else CONFIRM_TIME (imported contacts have no opt-in time).
* ``country`` = CC (ISO code of the geolocated address), ``region`` = REGION.
* ``consent_email`` is true unless the row has an UNSUB_TIME or CLEAN_TIME, i.e. members of the
  subscribed export are consenting and those of the unsubscribed / cleaned exports are not.
  Import the three files one after another into the same table. (The "non-subscribed" export
  has neither column: its members would count as consenting; do not import it as consent.)
* ``Birthday`` is ``MM/DD`` without a year, which no date column can hold: it is read but not
  stored (it would otherwise be mistaken for a birth date).
* Mailchimp writes its times in UTC.
"""

from __future__ import annotations

from segmint.ingest.formats._base import Aux, SourceFormat

AUDIENCE = SourceFormat(
    family="mailchimp",
    entity="customers",
    title="Mailchimp audience export",
    signature=(
        "Email Address",
        "MEMBER_RATING",
        "OPTIN_TIME",
        "OPTIN_IP",
        "CONFIRM_TIME",
        "CONFIRM_IP",
        "LATITUDE",
        "LONGITUDE",
        "GMTOFF",
        "DSTOFF",
        "TIMEZONE",
        "CC",
        "REGION",
        "LAST_CHANGED",
        "LEID",
        "EUID",
        "NOTES",
    ),
    aliases={
        "email": ("Email Address",),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "phone": ("Phone Number",),
        "signup_at": ("OPTIN_TIME",),
        "country": ("CC",),
        "region": ("REGION",),
    },
    aux={
        "confirm_time": Aux("TIMESTAMP", ("CONFIRM_TIME",)),
        "unsub_time": Aux("TIMESTAMP", ("UNSUB_TIME",)),
        "clean_time": Aux("TIMESTAMP", ("CLEAN_TIME",)),
        # MM/DD without a year; claimed so that it is not read as birth_date
        "birthday": Aux("VARCHAR", ("Birthday",)),
    },
    derive={
        "customer_id": "lower(trim(email))",
        "consent_email": "unsub_time IS NULL AND clean_time IS NULL",
    },
    override={"signup_at": "coalesce(signup_at, confirm_time)"},
    timezone="UTC",
    min_score=0.5,
)

FORMATS = (AUDIENCE,)

"""Product export formats (Shopify, Stripe, HubSpot, Mailchimp, GA4, Segment) end to end.

Every expected value below is worked out by hand from the fixtures in tests/fixtures/exports/
(written by make_fixtures.py in that folder).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from segmint import Workspace
from segmint.ingest import IngestResult
from segmint.ingest.formats import all_formats, detect
from segmint.ingest.formats.ga4 import flatten_params
from segmint.ingest.readers import ReadOptions, stage
from segmint.ingest.sniff import sniff

FIX = Path(__file__).parent / "fixtures" / "exports"


def load(ws: Workspace, name: str, **kw: Any) -> tuple[IngestResult, pd.DataFrame]:
    res = ws.ingest(FIX / name, **kw)
    df = ws.table(res.table).to_pandas().sort_values("_row", kind="stable")
    return res, df.reset_index(drop=True)


Loaded = Callable[..., tuple[IngestResult, pd.DataFrame]]


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """Ingest a fixture into a fresh workspace, once per module (the tests only read it)."""
    cache: dict[tuple[str, str], tuple[IngestResult, pd.DataFrame]] = {}

    def get(name: str, **kw: Any) -> tuple[IngestResult, pd.DataFrame]:
        key = (name, repr(sorted(kw.items())))
        if key not in cache:
            with Workspace(tmp_path_factory.mktemp("ws") / "w.duckdb") as ws:
                cache[key] = load(ws, name, **kw)
        return cache[key]

    return get


def null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT or pd.isna(v)


def as_obj(v: Any) -> Any:
    """JSON columns come back as Python objects or as JSON text, depending on the reader."""
    return json.loads(v) if isinstance(v, str) else v


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------

DETECTED = [
    ("shopify_orders_export.csv", "shopify:orders"),
    ("shopify_customers_export.csv", "shopify:customers"),
    ("shopify_customers_export_legacy.csv", "shopify:customers"),
    ("stripe_unified_payments.csv", "stripe:orders"),
    ("stripe_payments_legacy.csv", "stripe:orders"),
    ("hubspot_contacts.csv", "hubspot:customers"),
    ("mailchimp_subscribed.csv", "mailchimp:customers"),
    ("mailchimp_unsubscribed.csv", "mailchimp:customers"),
    ("mailchimp_cleaned.csv", "mailchimp:customers"),
    ("ga4_events.ndjson", "ga4:events"),
    ("ga4_events.parquet", "ga4:events"),
    ("segment_calls.ndjson", "segment:events"),
    ("generic_orders.csv", "generic:orders"),
]


def headers_of(name: str) -> list[str]:
    db = duckdb.connect()
    try:
        return list(stage(db, sniff(str(FIX / name)), ReadOptions()).columns)
    finally:
        db.close()


def test_every_fixture_is_covered_by_the_detection_table() -> None:
    data = {p.name for p in FIX.iterdir() if p.suffix != ".py"}
    assert data == {name for name, _ in DETECTED}


@pytest.mark.parametrize(("name", "expected"), DETECTED)
def test_only_the_right_family_qualifies(name: str, expected: str) -> None:
    """No other product's signature reaches its minimum score on this file."""
    headers = headers_of(name)
    family = expected.split(":")[0]
    qualifying = {f.family for f in all_formats() if f.score(headers) >= f.min_score}
    assert qualifying == (set() if family == "generic" else {family})
    found = detect(headers)
    assert (found.name if found else "generic:orders") == expected


@pytest.mark.parametrize(("name", "expected"), DETECTED)
def test_auto_detection_on_ingest(one: Loaded, name: str, expected: str) -> None:
    res, _ = one(name)
    assert res.format == expected


@pytest.mark.parametrize(
    "headers",
    [
        ["order_id", "customer_id", "ordered_at", "amount"],
        ["customer_id", "email", "first_name", "last_name", "phone", "city", "country", "tags"],
        ["user_id", "anonymous_id", "timestamp", "event", "properties", "type"],
        ["id", "created_at", "amount", "currency", "status", "email"],
        ["Email", "First Name", "Last Name", "Phone", "Company", "City", "Country", "Zip"],
    ],
)
def test_plain_headers_are_no_product_export(headers: list[str]) -> None:
    assert detect(headers) is None


def test_a_query_of_the_core_ga4_columns_is_still_ga4() -> None:
    headers = ["event_date", "event_timestamp", "event_name", "event_params", "user_pseudo_id"]
    found = detect([*headers, "user_id"])
    assert found is not None and found.name == "ga4:events"


def test_format_and_table_can_be_named(one: Loaded) -> None:
    res, df = one("shopify_customers_export.csv", format="shopify", into="customers")
    assert res.format == "shopify:customers"
    assert len(df) == 8


# ---------------------------------------------------------------------------------------------
# Shopify
# ---------------------------------------------------------------------------------------------


def test_shopify_orders_fill_down_amounts_and_statuses(one: Loaded) -> None:
    res, df = one("shopify_orders_export.csv")
    assert res.format == "shopify:orders"
    assert res.rows == len(df) == 15
    assert df["order_id"].tolist() == [
        "#1001", "#1001", "#1002", "#1003", "#1004", "#1004", "#1005", "#1005", "#1006",
        "#1007", "#1008", "#1009", "#1009", "#1009", "#1010",
    ]  # fmt: skip
    # quantity × price − line discount
    assert df["amount"].round(2).tolist() == [
        45.0, 18.0, 37.5, 30.0, 25.0, 12.5, 18.0, 54.0, 36.0, 25.0, 12.5, 21.25, 15.3, 21.25,
        18.0,
    ]  # fmt: skip
    assert df["status"].tolist() == [
        "paid", "paid",  # paid
        "paid",  # #1002 paid
        "paid",  # #1003 partially_refunded
        "refunded", "refunded",  # #1004 refunded
        "cancelled", "cancelled",  # #1005 refunded, but Cancelled at is set
        "paid",  # #1006 POS
        "pending",  # #1007 authorized
        "cancelled",  # #1008 voided
        "paid", "paid", "paid", "paid",
    ]  # fmt: skip

    # the second line of #1001 has only Name + line fields in the file: order fields filled down
    second = df.iloc[1]
    assert second["product_id"] == "TOTE-CNV"
    assert second["email"] == "Alice.Nguyen@Example.com"
    assert second["customer_id"] == "alice.nguyen@example.com"
    assert second["ordered_at"] == ts("2024-01-15 15:23:45")  # 10:23:45 -0500
    assert (second["currency"], second["channel"], second["country"]) == ("USD", "web", "US")

    # offsets converted to UTC, also on filled-down lines
    assert df.iloc[2]["ordered_at"] == ts("2024-01-21 02:05:00")  # 18:05 -0800 the day before
    assert df.iloc[5]["ordered_at"] == ts("2024-02-10 13:30:00")  # +0100, second line
    assert df.iloc[5]["currency"] == "EUR" and df.iloc[5]["country"] == "DE"
    assert df.iloc[11:14]["ordered_at"].tolist() == [ts("2024-03-02 04:30:00")] * 3
    assert df.iloc[13]["currency"] == "GBP"
    assert df.iloc[14]["ordered_at"] == ts("2024-03-10 12:05:30")  # -0400 (DST)

    # the guest POS order has no e-mail, hence no customer
    pos = df.iloc[8]
    assert null(pos["customer_id"]) and null(pos["email"]) and pos["channel"] == "pos"

    # the lines of each order add up to the order's Subtotal (written on its first line only)
    firsts = df.drop_duplicates("order_id").set_index("order_id")["subtotal"]
    sums = df.groupby("order_id")["amount"].sum().round(2)
    assert sums.to_dict() == firsts.to_dict()

    # unmapped columns are kept; the order Total is read as auxiliary input only
    assert {"vendor", "subtotal", "refunded_amount", "discount_code", "id"} <= set(res.extras)
    assert df.iloc[1]["vendor"] == "Acme Bags"
    assert df.iloc[3]["refunded_amount"] == 10.0
    assert res.mapped["order_total"] == "Total" and "total" not in df.columns
    assert res.mapped["discount"] == "Lineitem discount"
    assert df.iloc[0]["discount_amount"] == 5.0  # order-level discount stays an extra


def test_shopify_customers(one: Loaded) -> None:
    res, df = one("shopify_customers_export.csv")
    assert res.format == "shopify:customers"
    assert df["customer_id"].tolist() == [
        "alice.nguyen@example.com", "bob.smith@example.com", "carol.meyer@example.de",
        "dave@example.com", "erin@example.com", "frank.otieno@example.com", "grace@example.com",
        "shopify:7012345679999",  # no e-mail: the Shopify customer id
    ]  # fmt: skip
    assert df["consent_email"].tolist() == [True, False, True, False, True, True, True, False]
    assert df["consent_sms"].tolist() == [False, False, True, False, False, True, False, True]
    alice = df.iloc[0]
    assert alice["phone"] == "+16175550101"  # the leading apostrophe is removed
    assert alice["postal_code"] == "02134"  # and the leading zero kept
    assert (alice["city"], alice["region"], alice["country"]) == ("Boston", "MA", "US")
    assert df.iloc[7]["postal_code"] == "100-0005"
    assert df.iloc[2]["company"] == "Meyer GmbH"
    assert {"total_spent", "total_orders", "tags", "note", "tax_exempt"} <= set(res.extras)
    assert df.iloc[0]["total_spent"] == 134.88 and df.iloc[0]["tags"] == "VIP, newsletter"
    assert "customer_id_2" not in df.columns and res.mapped["shopify_customer_id"] == "Customer ID"


def test_shopify_customers_legacy_layout(one: Loaded) -> None:
    res, df = one("shopify_customers_export_legacy.csv")
    assert res.mapped["consent_email"] == "Accepts Marketing"
    assert df["customer_id"].tolist() == ["ivy.chen@example.com", "jon@example.no",
                                          "kim.lee@example.com"]  # fmt: skip
    assert df["country"].tolist() == ["AU", "NO", "US"]  # Country Code, not the name
    assert df.iloc[0]["region"] == "NSW" and df.iloc[2]["company"] == "Lee Design"
    assert df.iloc[1]["postal_code"] == "0150"
    assert df["consent_email"].tolist() == [True, False, True]


def test_shopify_orders_and_customers_join_on_the_email_key(one: Loaded) -> None:
    _, orders = one("shopify_orders_export.csv")
    _, customers = one("shopify_customers_export.csv")
    ordering = set(orders["customer_id"].dropna())
    assert ordering == {
        "alice.nguyen@example.com", "bob.smith@example.com", "carol.meyer@example.de",
        "dave@example.com", "erin@example.com", "frank.otieno@example.com",
    }  # fmt: skip
    assert ordering <= set(customers["customer_id"])


# ---------------------------------------------------------------------------------------------
# Stripe
# ---------------------------------------------------------------------------------------------


def test_stripe_payments(one: Loaded) -> None:
    res, df = one("stripe_unified_payments.csv")
    assert res.format == "stripe:orders" and len(df) == 12
    assert df.iloc[0]["order_id"] == "ch_3OZa1bLkdIwHu7ix0a1b2c3d"
    # net of refunds: 120 − 20 = 100 (partial refund), 35 − 35 = 0 (full refund)
    assert df["amount"].round(2).tolist() == [
        49.0, 100.0, 0.0, 80.0, 15.5, 89.9, 1250.0, 60.0, 9.99, 49.0, 25.0, 42.0,
    ]  # fmt: skip
    assert df["status"].tolist() == [
        "paid", "paid", "refunded", "cancelled", "paid", "paid", "paid", "pending", "paid",
        "paid", "cancelled", "paid",
    ]  # fmt: skip
    assert df["currency"].tolist() == ["USD"] * 5 + ["EUR"] + ["USD"] * 5 + ["GBP"]
    ids = df["customer_id"].tolist()
    assert ids[0] == ids[9] == "cus_PQ1aAlice7Zk1"
    assert ids[4] == "guest.buyer@example.org"  # no Customer ID: the lower-cased e-mail
    assert ids[10] == "bob.smith@example.com"
    assert null(ids[8])  # neither
    assert df.iloc[0]["ordered_at"] == ts("2024-01-15 10:23:45")  # already UTC
    assert df.iloc[4]["ordered_at"] == ts("2024-02-01 23:59:59")
    assert df.iloc[5]["country"] == "DE" and null(df.iloc[6]["country"])
    assert df.iloc[0]["product_name"] == "Starter plan (monthly)"
    assert {"fee", "decline_reason", "card_brand", "order_id_metadata"} <= set(res.extras)
    assert df.iloc[3]["decline_reason"] == "card_declined"
    assert "amount_refunded" not in df.columns and "captured" not in df.columns


def test_stripe_net_amounts_feed_monetary_value(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        load(ws, "stripe_unified_payments.csv")
        feats = ws.features(as_of="2024-03-01").to_pandas().set_index("customer_id")
    bob = feats.loc["cus_PQ2bBob8Yq2"]
    assert bob["monetary_total"] == 100.0  # 120 − 20 refunded; the failed 80 does not count
    assert bob["frequency"] == 1
    assert feats.loc["cus_PQ3cCarol9Xw3"]["monetary_total"] == 89.9  # 0 (refunded) + 89.90


def test_stripe_legacy_payments_csv(one: Loaded) -> None:
    res, df = one("stripe_payments_legacy.csv")
    assert res.mapped["ordered_at"] == "Created (UTC)"
    assert df["status"].tolist() == ["paid", "refunded", "cancelled"]
    assert df["amount"].tolist() == [19.0, 0.0, 54.0]
    assert df["customer_id"].tolist() == ["cus_FA1", "old.customer@example.com", "cus_FA1"]
    assert df.iloc[0]["ordered_at"] == ts("2019-06-28 14:05:00")


# ---------------------------------------------------------------------------------------------
# HubSpot
# ---------------------------------------------------------------------------------------------


def test_hubspot_contacts(one: Loaded) -> None:
    res, df = one("hubspot_contacts.csv")
    assert res.format == "hubspot:customers" and len(df) == 10
    assert df["customer_id"].tolist() == [str(i) for i in range(51, 502, 50)]
    by = df.set_index("customer_id")
    assert by.loc["101", "phone"] == "+353 87 123 4567"  # only a mobile number
    assert by.loc["151", "phone"] == "+81 3-1234-5678"  # Phone Number wins over the mobile
    # unsubscribed true → no consent; empty or false → consent
    assert by["consent_email"].to_dict() == {
        "51": True, "101": False, "151": True, "201": True, "251": True, "301": False,
        "351": True, "401": True, "451": True, "501": True,
    }  # fmt: skip
    sizes = by["company_size"].tolist()
    assert sizes[:7] == [25, 1000, 5, 100, 50, 1, 5] and null(sizes[7])
    assert sizes[8:] == [500, 120]
    assert by.loc["101", "annual_revenue"] == 85_000_000
    assert by.loc["51", "signup_at"] == ts("2023-11-02 09:15:00")
    assert by.loc["51", "occupation"] == "Head of Marketing"
    assert (by.loc["101", "country"], by.loc["101", "region"]) == ("Ireland", "Leinster")
    assert by.loc["51", "postal_code"] == "02134"
    assert null(by.loc["201", "email"])
    assert {"lifecycle_stage", "lead_status", "contact_owner", "last_activity_date",
            "marketing_contact_status"} <= set(res.extras)  # fmt: skip
    assert by.loc["251", "lifecycle_stage"] == "Marketing Qualified Lead"
    assert "mobile_phone_number" not in df.columns


def test_hubspot_dates_follow_the_timezone_option(one: Loaded) -> None:
    _, df = one("hubspot_contacts.csv", timezone="America/New_York")
    assert df.iloc[0]["signup_at"] == ts("2023-11-02 13:15:00")  # EDT, UTC−4
    assert df.iloc[1]["signup_at"] == ts("2023-12-11 22:40:00")  # EST, UTC−5


# ---------------------------------------------------------------------------------------------
# Mailchimp
# ---------------------------------------------------------------------------------------------


def test_mailchimp_audience_files(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        sub, _ = load(ws, "mailchimp_subscribed.csv")
        unsub, _ = load(ws, "mailchimp_unsubscribed.csv")
        cleaned, df = load(ws, "mailchimp_cleaned.csv")
    assert {sub.format, unsub.format, cleaned.format} == {"mailchimp:customers"}
    assert (sub.rows, unsub.rows, cleaned.rows) == (10, 3, 2)
    by = df.set_index("customer_id")
    assert len(by) == 15
    consent = by["consent_email"].to_dict()
    refused = {k for k, v in consent.items() if not v}
    assert refused == {
        "henry@example.com", "dave@example.com", "oliver.brown@example.co.uk",  # unsubscribed
        "typo@gmial.com", "old.address@example.net",  # cleaned
    }  # fmt: skip
    assert by.loc["alice.nguyen@example.com", "email"] == "Alice.Nguyen@Example.com"
    assert by.loc["alice.nguyen@example.com", "signup_at"] == ts("2023-05-01 14:02:11")
    assert by.loc["bob.smith@example.com", "signup_at"] == ts("2023-06-10 09:30:00")  # CONFIRM
    assert null(by.loc["frank.otieno@example.com", "signup_at"])
    assert by.loc["carol.meyer@example.de", "country"] == "DE"
    assert by.loc["carol.meyer@example.de", "region"] == "BE"
    assert by.loc["alice.nguyen@example.com", "member_rating"] == 4
    assert by.loc["alice.nguyen@example.com", "tags"] == '"VIP","Newsletter"'
    assert by.loc["dave@example.com", "unsub_reason_other"] == "Too many emails"
    assert by.loc["typo@gmial.com", "clean_campaign_title"] == "May Newsletter"
    # Birthday (MM/DD, no year) is never read as a birth date
    assert by["birth_date"].isna().all() and "birthday" not in df.columns
    assert sub.mapped["birthday"] == "Birthday"
    assert {"leid", "euid", "latitude", "optin_ip", "last_changed"} <= set(sub.extras)


# ---------------------------------------------------------------------------------------------
# GA4
# ---------------------------------------------------------------------------------------------

PURCHASE_PARAMS = {
    "page_location": "https://shop.example.com/checkouts/c1/thank_you",
    "ga_session_id": 1705400100,
    "transaction_id": "T-1001",
    "currency": "USD",
    "value": 73.04,
    "tax": 5.04,
    "shipping": 5.0,
    "coupon": "WELCOME10",
}


@pytest.mark.parametrize("name", ["ga4_events.ndjson", "ga4_events.parquet"])
def test_ga4_events(one: Loaded, name: str) -> None:
    res, df = one(name)
    assert res.format == "ga4:events" and len(df) == 12
    assert df["event_name"].tolist() == [
        "session_start", "page_view", "view_item", "add_to_cart", "page_view", "begin_checkout",
        "purchase", "user_engagement", "session_start", "page_view", "scroll", "click",
    ]  # fmt: skip
    # event_timestamp is microseconds since the epoch (UTC)
    assert df.iloc[0]["occurred_at"] == ts("2024-01-15 10:00:00.123456")
    assert df.iloc[6]["occurred_at"] == ts("2024-01-16 10:22:35.123")
    assert df["anonymous_id"].iloc[0] == "1197596843.1705312740"
    assert df["customer_id"].iloc[:4].isna().all()
    assert df["customer_id"].iloc[4:8].tolist() == ["u_1001"] * 4
    props = [as_obj(p) for p in df["properties"]]
    assert props[6] == PURCHASE_PARAMS  # int64 strings became numbers, doubles stayed doubles
    assert props[0]["ga_session_number"] == 1 and props[0]["page_title"] == "Acme Shop"
    assert props[10]["percent_scrolled"] == 90
    assert props[11]["outbound"] == "true"
    # nested columns are kept as JSON extras
    assert {"device", "geo", "traffic_source", "ecommerce", "items", "event_date"} <= set(
        res.extras
    )
    assert as_obj(df.iloc[4]["device"])["category"] == "mobile"
    assert as_obj(df.iloc[0]["geo"])["city"] == "Boston"
    assert as_obj(df.iloc[6]["ecommerce"])["transaction_id"] == "T-1001"


def test_ga4_ndjson_and_parquet_into_one_table(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        load(ws, "ga4_events.ndjson")
        _, df = load(ws, "ga4_events.parquet")
    assert len(df) == 24
    first = df[df["_row"] == 7]
    assert [as_obj(p) for p in first["properties"]] == [PURCHASE_PARAMS] * 2


@pytest.mark.parametrize(
    ("sql", "dtype", "expected"),
    [
        (
            "[{'key': 'a', 'value': {'string_value': 'x', 'int_value': NULL, "
            "'double_value': NULL}}, {'key': 'n', 'value': {'string_value': NULL, "
            "'int_value': 7, 'double_value': NULL}}]",
            "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, "
            "double_value DOUBLE))[]",
            {"a": "x", "n": 7},
        ),
        (
            """'[{"key": "d", "value": {"double_value": 1.5}}, {"key": "i", """
            """"value": {"int_value": "12"}}, {"key": "z", "value": {}}]'""",
            "VARCHAR",
            {"d": 1.5, "i": 12, "z": None},
        ),
        ("'[]'", "VARCHAR", {}),
        ("""'{"already": "flat"}'""", "VARCHAR", {"already": "flat"}),
        ("NULL", "VARCHAR", None),
    ],
)
def test_ga4_flatten_params_shapes(sql: str, dtype: str, expected: Any) -> None:
    db = duckdb.connect()
    col = f"CAST({sql} AS {dtype})"
    row = db.execute(f"SELECT {flatten_params(col, dtype)}").fetchone()
    assert row is not None
    assert (None if row[0] is None else json.loads(row[0])) == expected


def test_ga4_flatten_keeps_unreadable_text_for_the_quality_count() -> None:
    db = duckdb.connect()
    expr = flatten_params("'not json'", "VARCHAR")
    row = db.execute(f"SELECT {expr}").fetchone()
    assert row == ("not json",)


# ---------------------------------------------------------------------------------------------
# Segment
# ---------------------------------------------------------------------------------------------


def test_segment_events(one: Loaded) -> None:
    res, df = one("segment_calls.ndjson")
    assert res.format == "segment:events"
    # 16 calls: 4 identify + 1 group are not events
    assert res.rows == len(df) == 11
    assert df["_row"].tolist() == [1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 15]
    assert any("5 of 16 rows skipped" in n for n in res.notes)
    assert df["event_name"].tolist() == [
        "page: Home", "Products Searched", "Product Viewed", "Product Added", "Order Completed",
        "page: Order Confirmation", "screen: Home Screen", "Application Opened", "page",
        "Signed Up", "Email Link Clicked",
    ]  # fmt: skip
    assert df.iloc[3]["occurred_at"] == ts("2024-03-05 14:17:30.500")  # 09:17:30.5-05:00
    assert df.iloc[0]["occurred_at"] == ts("2024-03-05 14:15:00.120")
    props = [as_obj(p) for p in df["properties"]]
    # each call keeps its own properties, without the other events' keys as nulls
    assert props[1] == {"query": "tote"}
    assert props[3] == {"cart_id": "c-77", "product_id": "TOTE-CNV", "quantity": 1, "price": 18.0}
    assert props[4]["products"][0]["sku"] == "TOTE-CNV" and props[4]["total"] == 23.0
    assert props[7]["from_background"] is False
    assert null(df.iloc[0]["customer_id"]) and df.iloc[3]["customer_id"] == "u_1001"
    assert df.iloc[0]["anonymous_id"] == "5b1f0c9e-6a3d-4d1e-9f0a-1c2b3d4e5f60"
    assert null(df.iloc[10]["anonymous_id"])  # server-side call
    assert {"context", "messageid", "channel", "category"} <= set(res.extras)
    assert as_obj(df.iloc[6]["context"])["library"]["name"] == "analytics-ios"
    assert df.iloc[5]["category"] == "Checkout"
    assert "traits" not in df.columns and "type" not in df.columns


def test_segment_identify_calls_as_customers(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        load(ws, "segment_calls.ndjson")  # the same file feeds events and customers
        res, df = load(ws, "segment_calls.ndjson", into="customers")
    assert res.format == "segment:customers"
    assert res.rows == len(df) == 4
    assert any("12 of 16 rows skipped" in n for n in res.notes)
    assert df["customer_id"].tolist() == ["u_1001", "u_1002", "u_1003", "u_1001"]
    alice, bob, carol, again = (df.iloc[i] for i in range(4))
    assert alice["email"] == "Alice.Nguyen@Example.com"
    assert (alice["first_name"], alice["last_name"]) == ("Alice", "Nguyen")
    assert alice["phone"] == "+1 617-555-0101"
    assert (alice["city"], alice["region"], alice["country"], alice["postal_code"]) == (
        "Boston", "MA", "US", "02134",
    )  # fmt: skip
    assert alice["signup_at"] == ts("2023-05-01 14:02:11")
    assert (bob["first_name"], bob["last_name"]) == ("Bob", "Smith")  # snake_case traits
    assert (bob["company"], bob["industry"], bob["company_size"]) == ("Smith & Co", "Retail", 12)
    assert (carol["first_name"], carol["country"]) == ("Carol", "DE")
    assert carol["signup_at"] == ts("2024-03-06 18:02:00")
    assert null(again["email"])
    # the whole traits object is kept, custom traits included
    assert as_obj(alice["traits"])["plan"] == "premium"
    assert as_obj(again["traits"])["plan"] == "enterprise"
    assert {"traits", "anonymousid", "context"} <= set(res.extras)
    assert not {"event", "properties", "name"} & set(df.columns)


def test_row_filter_keeps_source_row_numbers_and_counts(tmp_path: Path) -> None:
    with Workspace(tmp_path / "w.duckdb") as ws:
        res = ws.ingest(FIX / "segment_calls.ndjson", into="customers")
        runs = ws.runs()
    assert res.rows == 4
    run = next(r for r in runs if r["run_id"] == res.run_id)
    assert run["row_counts"]["read"] == run["row_counts"]["written"] == 4


def test_ordered_at_is_naive_utc(one: Loaded) -> None:
    _, df = one("shopify_orders_export.csv")
    value = df.iloc[0]["ordered_at"]
    assert isinstance(value, datetime) and value.tzinfo is None

"""Events, feedback, campaigns and campaign contacts, driven by each customer's persona."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.datasets._catalog import CATALOG
from segmint.datasets._core import DAY, Period, pick_rows
from segmint.datasets._people import hex_ids, timestamps
from segmint.datasets._personas import (
    CATEGORIES,
    NEEDS,
    PERSONAS,
    SURVEY_ITEMS,
    persona_matrix,
)

__all__ = ["draw_needs", "make_campaigns", "make_events", "make_feedback"]

EVENT_NAMES = ("page_view", "add_to_cart", "email_open", "email_click", "search")
_PRODUCT_IDS = np.array(
    [f"{c[:2].upper()}-{i + 1:03d}" for c in CATEGORIES for i in range(len(CATALOG[c]))],
    dtype=object,
)
_QUERIES = np.array([name.lower() for c in CATEGORIES for name, _ in CATALOG[c]], dtype=object)
_TEXT = {
    5: ("Great quality, fast delivery.", "Love it, will buy again!", "Excellent service."),
    4: ("Good value for money.", "Nice products, delivery was a bit slow.", "Happy overall."),
    3: ("It's okay.", "Average quality for the price.", "Nothing special."),
    2: ("Disappointed with the quality.", "Delivery took far too long.", "Not worth it."),
    1: ("Terrible, the item arrived broken.", "Never again.", "Support never answered."),
}
_REMARK = {
    "Champions": " Premium quality, worth every cent.",
    "Bargain Hunters": " I only buy when there is a sale.",
    "Young Professionals": " The app makes ordering easy.",
    "Families": " Great for the kids.",
    "Lapsed": " Haven't ordered in a while.",
}


def _times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (rng.random(len(lo)) * np.maximum(hi - lo, 1)).astype(np.int64)


def _str(values: object) -> pd.Series:
    return pd.Series(values, dtype="str")


def make_events(
    rng: np.random.Generator,
    customer_id: pd.Series,
    persona: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
    period: Period,
) -> pd.DataFrame:
    """Web, app and e-mail events; ≈12% of browsing events are anonymous (device id only)."""
    who = np.repeat(np.arange(len(persona)), rng.poisson(persona_matrix("events")[persona]))
    p = persona[who]
    name = pick_rows(rng, persona_matrix("event_mix")[p])
    hi = np.where(active_to < period.end - DAY, active_to + 60 * DAY, period.end - 1)
    when = _times(rng, active_from[who], hi[who])
    category = pick_rows(rng, persona_matrix("categories")[p])
    product = category * 10 + rng.integers(0, 10, size=len(who))
    pid = _PRODUCT_IDS[product]
    mailing = "newsletter-" + timestamps(when).astype("datetime64[M]").astype(str).astype(object)
    props = np.select(
        [name == 0, name == 1, name == 2, name == 3],
        [
            '{"page": "/p/' + pid + '"}',
            '{"product_id": "' + pid + '", "quantity": 1}',
            '{"mailing": "' + mailing + '"}',
            '{"mailing": "' + mailing + '", "url": "/sale"}',
        ],
        '{"query": "' + _QUERIES[product] + '"}',
    )
    anonymous = hex_ids(rng, len(persona), "anon-").to_numpy()
    ids = customer_id.to_numpy()[who]
    unknown = np.isin(name, (0, 4)) & (rng.random(len(who)) < 0.12)
    order = np.argsort(when, kind="stable")
    return pd.DataFrame(
        {
            "customer_id": _str(ids[order]).mask(unknown[order]),
            "anonymous_id": _str(anonymous[who][order]),
            "occurred_at": timestamps(when[order]),
            "event_name": _str(np.array(EVENT_NAMES)[name[order]]),
            "properties": _str(props[order]),
        }
    )


def draw_needs(rng: np.random.Generator, persona: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's needs group (index into NEEDS, drawn from the persona's shares) and own
    levels of the three needs (customers × 3, around the group's)."""
    need = pick_rows(rng, persona_matrix("needs")[persona])
    centres = np.array(list(NEEDS.values()))
    return need, centres[need] + rng.normal(0, 0.35, (len(persona), len(SURVEY_ITEMS)))


def make_feedback(
    rng: np.random.Generator,
    customer_id: pd.Series,
    persona: np.ndarray,
    needs: np.ndarray,
    active_from: np.ndarray,
    active_to: np.ndarray,
    period: Period,
) -> pd.DataFrame:
    """Survey answers (with Likert items) and star reviews from a minority of customers.

    A survey answers the nine items of SURVEY_ITEMS (three per need), each the customer's
    level of that need (``needs``, customers × 3) plus noise, rounded to 1–5."""
    answers = (rng.random(len(persona)) < persona_matrix("feedback")[persona]) * (
        1 + rng.poisson(0.3, size=len(persona))
    )
    who = np.repeat(np.arange(len(persona)), answers)
    p = persona[who]
    n = len(who)
    survey = rng.random(n) < 0.55
    when = _times(rng, active_from[who], np.minimum(active_to[who] + 30 * DAY, period.end - 1))
    stars = np.clip(np.round(rng.normal(persona_matrix("rating")[p], 0.8)), 1, 5).astype(int)
    text = np.empty(n, dtype=object)
    for star, options in _TEXT.items():
        mask = stars == star
        text[mask] = np.array(options, dtype=object)[rng.integers(0, 3, size=int(mask.sum()))]
    remark = np.array([_REMARK[q.name] for q in PERSONAS], dtype=object)[p]
    text = np.where(rng.random(n) < 0.5, text + remark, text)
    text = _str(text).mask(survey & (rng.random(n) < 0.4))
    frame = pd.DataFrame(
        {
            "customer_id": _str(customer_id.to_numpy()[who]),
            "answered_at": timestamps(when),
            "source": _str(np.where(survey, "survey", "review")),
            "rating": stars.astype(np.float64),
            "text": text,
        }
    )
    level = needs[who]
    items = [(j, c) for j, group in enumerate(SURVEY_ITEMS) for c in group]
    for j, column in sorted(items, key=lambda jc: SURVEY_ITEMS[jc[0]].index(jc[1])):
        item = np.clip(np.round(level[:, j] + rng.normal(0, 0.6, n)), 1, 5).astype(np.int64)
        frame[column] = pd.array(item, dtype="Int64")
        frame.loc[~survey, column] = pd.NA
    return frame.iloc[np.argsort(when, kind="stable")].reset_index(drop=True)


def make_campaigns(
    rng: np.random.Generator, customers: pd.DataFrame, persona: np.ndarray, period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two campaigns (e-mail newsletter, SMS win-back) and whom they reached: A, B or control."""
    span = period.span
    days = np.array([int(0.62 * span), int(0.85 * span)]) // DAY
    start = period.start + days * DAY + 9 * 3600
    end = start + np.array([14, 10]) * DAY
    campaigns = pd.DataFrame(
        {
            "campaign_id": _str(["CMP-1", "CMP-2"]),
            "name": _str(["Spring newsletter", "Win-back SMS"]),
            "channel": _str(["email", "sms"]),
            "cost": [2500.0, 4800.0],
            "started_at": timestamps(start),
            "ended_at": timestamps(end),
        }
    )
    signup = customers["signup_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    engagement = persona_matrix("engagement")[persona]
    basket = persona_matrix("basket")[persona]
    parts = []
    for k, consent in enumerate(("consent_email", "consent_sms")):
        who = np.flatnonzero(customers[consent].to_numpy() & (signup < start[k]))
        n = len(who)
        variant = np.array(["A", "B", "control"])[
            pick_rows(rng, np.tile([0.45, 0.45, 0.1], (n, 1)))
        ]
        sent = (variant != "control") & (rng.random(n) > 0.01)
        lift = np.where(variant == "B", 1.15, 1.0)
        opened = sent & (rng.random(n) < np.minimum(engagement[who] * lift, 0.95))
        clicked = opened & (rng.random(n) < 0.35)
        converted = (clicked & (rng.random(n) < 0.4)) | (rng.random(n) < 0.03 * engagement[who])
        revenue = np.where(converted, basket[who] * rng.lognormal(0.0, 0.4, size=n), 0.0)
        parts.append(
            pd.DataFrame(
                {
                    "campaign_id": _str(np.full(n, campaigns["campaign_id"][k])),
                    "customer_id": customers["customer_id"].to_numpy()[who],
                    "segment": _str(np.full(n, None)),
                    "variant": _str(variant),
                    "sent_at": timestamps(start[k] + rng.integers(0, 2 * DAY, size=n)),
                    "sent": sent,
                    "opened": opened,
                    "clicked": clicked,
                    "converted": converted,
                    "revenue": np.round(revenue, 2),
                }
            )
        )
    contacts = pd.concat(parts, ignore_index=True)
    contacts["customer_id"] = contacts["customer_id"].astype("str")
    return campaigns, contacts

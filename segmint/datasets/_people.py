"""The customers table: demographics by persona, plus realistically messy contact data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.datasets._core import DAY, Period, pick_rows
from segmint.datasets._personas import EDUCATION, PERSONAS, persona_matrix

__all__ = ["CUSTOMER_COLUMNS", "hex_ids", "make_customers", "timestamps"]

CUSTOMER_COLUMNS = (
    "customer_id", "email", "phone", "first_name", "last_name", "birth_date", "gender", "income",
    "education", "occupation", "household_size", "children", "country", "region", "city",
    "postal_code", "urban_rural", "signup_at", "consent_email", "consent_sms", "consent_ads",
)  # fmt: skip

_FEMALE = ("Anna", "Emma", "Sophie", "Laura", "Julia", "Mia", "Lena", "Sarah", "Olivia", "Chloe",
           "Marie", "Camille", "Emily", "Hannah", "Grace", "Lucy", "Claire", "Jessica")  # fmt: skip
_MALE = ("Lukas", "Max", "Paul", "Jonas", "Felix", "Leon", "James", "Oliver", "Jack", "Thomas",
         "Louis", "Hugo", "Lucas", "Daniel", "Michael", "David", "Noah", "Ben")  # fmt: skip
_LAST = ("Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Miller", "Davis",
         "Martin", "Bernard", "Dubois", "Durand", "Moreau", "Laurent", "Garcia",
         "Klein")  # fmt: skip
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "web.de", "gmx.de", "icloud.com",
            "hotmail.co.uk", "orange.fr")  # fmt: skip
_INVALID = ("no-email", "n/a", "none", "unknown@", "noreply(at)example")

# country code, region, city, postal prefix, phone area code
_CITIES = (
    ("DE", "Berlin", "Berlin", "10", "30"),
    ("DE", "Bavaria", "Munich", "80", "89"),
    ("DE", "Saxony", "Leipzig", "04", "341"),
    ("DE", "Hamburg", "Hamburg", "20", "40"),
    ("DE", "North Rhine-Westphalia", "Cologne", "50", "221"),
    ("GB", "England", "London", "SW", "20"),
    ("GB", "Scotland", "Edinburgh", "EH", "131"),
    ("GB", "England", "Manchester", "M", "161"),
    ("US", "Massachusetts", "Boston", "02", "617"),
    ("US", "New York", "New York", "10", "212"),
    ("US", "California", "San Francisco", "94", "415"),
    ("US", "New Jersey", "Newark", "07", "973"),
    ("FR", "Île-de-France", "Paris", "75", "1"),
    ("FR", "Auvergne-Rhône-Alpes", "Lyon", "69", "4"),
    ("FR", "Provence-Alpes-Côte d'Azur", "Marseille", "13", "4"),
)
_COUNTRY_SHARE = {"DE": 0.40, "GB": 0.20, "US": 0.20, "FR": 0.20}
#: how the source spells each country, with weights.
_COUNTRY_SPELLING = {
    "DE": (("DE", "Germany", "Deutschland"), (0.6, 0.3, 0.1)),
    "GB": (("GB", "UK", "United Kingdom"), (0.3, 0.4, 0.3)),
    "US": (("US", "USA", "United States"), (0.6, 0.2, 0.2)),
    "FR": (("FR", "France"), (0.6, 0.4)),
}


def timestamps(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as ``datetime64[us]`` (naive UTC)."""
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")


def hex_ids(rng: np.random.Generator, n: int, prefix: str) -> pd.Series:
    """Random 12-hex-digit identifiers with a prefix, vectorized.

    >>> hex_ids(np.random.default_rng(0), 2, "anon-").str.len().tolist()
    [17, 17]
    """
    value = rng.integers(0, 2**48, size=n, dtype=np.int64)
    nibbles = (value[:, None] >> np.arange(44, -1, -4)) & 15
    chars = np.array(list("0123456789abcdef"))[nibbles]
    return prefix + pd.Series(np.ascontiguousarray(chars).view("<U12").ravel(), dtype="str")


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10**width, size=n)).astype("str").str.zfill(width)


def _choose(rng: np.random.Generator, options: tuple[str, ...], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), size=n)]


def _phones(rng: np.random.Generator, code: np.ndarray, area: pd.Series) -> pd.Series:
    """Phone numbers in mixed national and international formats, ≈3% missing."""
    n = len(code)
    d = _digits(rng, n, 8)
    intl = pd.Series(rng.random(n) < 0.5)
    de = np.where(intl, "+49 " + area + " ", "0" + area + " ") + d.str[:7]
    # GB: area code and subscriber number have 10 digits together
    gb_sub = np.where(
        area.str.len() == 2, d.str[:4] + " " + d.str[4:8], d.str[:3] + " " + d.str[3:7]
    )
    gb = np.where(intl, "+44 " + area + " ", "0" + area + " ") + gb_sub
    us = np.where(
        intl,
        "+1 " + area + " 555 " + d.str[:4],
        "(" + area + ") 555-" + d.str[:4],
    )
    pairs = d.str[:2] + " " + d.str[2:4] + " " + d.str[4:6] + " " + d.str[6:8]
    fr = np.where(intl, "+33 " + area + " ", "0" + area + " ") + pairs
    out = np.select([code == "DE", code == "GB", code == "US"], [de, gb, us], fr)
    return pd.Series(out, dtype="str").mask(rng.random(n) < 0.03)


def _postal(rng: np.random.Generator, code: np.ndarray, prefix: pd.Series) -> pd.Series:
    n = len(code)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)
    gb = (
        prefix
        + pd.Series(rng.integers(1, 20, size=n)).astype("str")
        + " "
        + pd.Series(rng.integers(1, 10, size=n)).astype("str")
        + letters[rng.integers(0, 20, size=n)]
        + letters[rng.integers(0, 20, size=n)]
    )
    return pd.Series(np.where(code == "GB", gb, prefix + _digits(rng, n, 3)), dtype="str")


def _emails(
    rng: np.random.Generator, first: pd.Series, last: pd.Series, number: np.ndarray
) -> pd.Series:
    """Lower-case addresses; ≈2% messy (upper-case or padded), ≈0.5% not an address at all."""
    n = len(first)
    domain = _choose(rng, _DOMAINS, n)
    tag = pd.Series(number).astype("str")
    style = rng.random(n)
    local = np.where(
        style < 0.6,
        first + "." + last + tag,
        np.where(style < 0.85, first.str[0] + last + tag, last + "." + first + tag),
    )
    email = pd.Series(local + "@" + domain, dtype="str").str.lower()
    u = rng.random(n)
    email = email.where(u >= 0.01, email.str.upper())
    email = email.where((u < 0.01) | (u >= 0.02), "  " + email + " ")
    bad = rng.random(n) < 0.005
    return email.where(~bad, pd.Series(_choose(rng, _INVALID, n), dtype="str"))


def make_customers(
    rng: np.random.Generator,
    customer_id: pd.Series,
    persona: np.ndarray,
    signup: np.ndarray,
    period: Period,
) -> pd.DataFrame:
    """The customers table for customers of the given personas and signup times."""
    n = len(persona)
    mean, sd, lo, hi = persona_matrix("age").T[:, persona]
    age = np.clip(np.round(rng.normal(mean, sd)), lo, hi).astype(np.int64)
    end_day = period.end // DAY - 1
    birth_day = end_day - np.round(age * 365.25).astype(np.int64) - rng.integers(0, 365, size=n)
    median, sigma, floor = persona_matrix("income").T[:, persona]
    income = np.round(np.maximum(median * np.exp(sigma * rng.standard_normal(n)), floor), -2)
    children = pick_rows(rng, persona_matrix("children")[persona])
    families = np.array([p.name == "Families" for p in PERSONAS])[persona]
    partner = rng.random(n) < np.where(families, 0.9, 0.5)
    household = np.minimum(1 + partner + children + (rng.random(n) < 0.08), 6)
    household = np.where(families, np.maximum(household, 3), household)
    g = rng.random(n)
    gender = np.where(g < 0.5, "female", np.where(g < 0.98, "male", "diverse"))
    first = pd.Series(
        np.where(gender == "male", _choose(rng, _MALE, n), _choose(rng, _FEMALE, n)), dtype="str"
    )
    last = pd.Series(_choose(rng, _LAST, n), dtype="str")
    occupation = np.empty(n, dtype=object)
    for k, p in enumerate(PERSONAS):
        mask = persona == k
        occupation[mask] = _choose(rng, p.occupations, int(mask.sum()))
    codes = np.array(list(_COUNTRY_SHARE))
    country_code = codes[rng.choice(len(codes), size=n, p=list(_COUNTRY_SHARE.values()))]
    city_idx = np.empty(n, dtype=np.int64)
    spelled = np.empty(n, dtype=object)
    for c in codes:
        mask = country_code == c
        rows = np.array([i for i, city in enumerate(_CITIES) if city[0] == c])
        city_idx[mask] = rows[rng.integers(0, len(rows), size=int(mask.sum()))]
        names, weights = _COUNTRY_SPELLING[c]
        spelled[mask] = np.array(names, dtype=object)[
            rng.choice(len(names), size=int(mask.sum()), p=weights)
        ]
    cities = pd.DataFrame(list(_CITIES), columns=["code", "region", "city", "postal", "area"])
    place = cities.iloc[city_idx].reset_index(drop=True)
    engagement = persona_matrix("engagement")[persona]
    return pd.DataFrame(
        {
            "customer_id": customer_id.astype("str").reset_index(drop=True),
            "email": _emails(rng, first, last, rng.integers(1, 1000, size=n)),
            "phone": _phones(rng, country_code, place["area"].astype("str")),
            "first_name": first,
            "last_name": last,
            "birth_date": pd.Series(birth_day.astype("datetime64[D]")).dt.date,
            "gender": pd.Series(gender, dtype="str"),
            "income": income.astype(np.float64),
            "education": pd.Series(
                np.array(EDUCATION)[pick_rows(rng, persona_matrix("education")[persona])],
                dtype="str",
            ),
            "occupation": pd.Series(occupation, dtype="str"),
            "household_size": household.astype(np.int64),
            "children": children.astype(np.int64),
            "country": pd.Series(spelled, dtype="str"),
            "region": place["region"].astype("str"),
            "city": place["city"].astype("str"),
            "postal_code": _postal(rng, country_code, place["postal"].astype("str")),
            "urban_rural": pd.Series(
                np.array(["urban", "suburban", "rural"])[
                    pick_rows(rng, persona_matrix("settlement")[persona])
                ],
                dtype="str",
            ),
            "signup_at": timestamps(signup),
            "consent_email": rng.random(n) < 0.45 + 0.5 * engagement,
            "consent_sms": rng.random(n) < 0.15 + 0.4 * engagement,
            "consent_ads": rng.random(n) < 0.55,
        }
    )

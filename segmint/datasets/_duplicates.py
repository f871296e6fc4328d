"""People recorded more than once, with the answer key: FEBRL-style data for record linkage.

FEBRL's generator (Christen, 2005) makes *original* records and *duplicates* of some of them,
each duplicate carrying a few modifications of the kinds found in real customer files. Here the
modifications are: a typo in a name (a character inserted, deleted, substituted by a keyboard
neighbour, or two transposed), first and last name swapped, a nickname, a missing or mistyped
birth date, a move (new address, city, ZIP and often phone), the street written differently
(``Street``/``St``, a dropped direction, a typo), an e-mail variant (another provider, dots
dropped, a ``+tag``, upper case) or a new e-mail, a missing or new phone, a mistyped ZIP,
names in upper case. Namesakes are common (names are drawn by frequency rank) and a few people
share a household (last name, address and landline) with someone else: the hard negatives.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from segmint.datasets._names import CITIES, FEMALE, LAST, MALE, NICKNAMES, STREET_TYPES, STREETS

__all__ = ["PEOPLE_COLUMNS", "people_with_duplicates"]

PEOPLE_COLUMNS = (
    "customer_id", "first_name", "last_name", "email", "phone", "birth_date", "address", "city",
    "postal_code", "country", "true_person",
)  # fmt: skip

_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
            "comcast.net", "proton.me")  # fmt: skip
_DOMAIN_P = (0.42, 0.14, 0.1, 0.1, 0.11, 0.05, 0.05, 0.03)
_DOMAIN_CUM = np.cumsum(_DOMAIN_P)
_DIRECTIONS = ("", "", "", "N ", "S ", "E ", "W ")
_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: modification kinds of a duplicate and how often each is picked
_MODS = {
    "typo_first": 0.13, "typo_last": 0.13, "swap_names": 0.05, "nickname": 0.06,
    "missing_birth": 0.10, "birth_typo": 0.05, "moved": 0.07, "street_variant": 0.10,
    "email_variant": 0.10, "new_email": 0.04, "missing_email": 0.05, "missing_phone": 0.05,
    "new_phone": 0.03, "postal_typo": 0.02, "upper_case": 0.02,
}  # fmt: skip


def _neighbours() -> dict[str, str]:
    rows = _KEYBOARD
    out: dict[str, str] = {}
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            near = [row[c - 1] if c else "", row[c + 1] if c + 1 < len(row) else ""]
            near += [rows[r2][c] for r2 in (r - 1, r + 1) if 0 <= r2 < 3 and c < len(rows[r2])]
            out[ch] = "".join(near)
    return out


_NEAR = _neighbours()


def typo(text: str, rng: np.random.Generator) -> str:
    """One character inserted, deleted, replaced by a keyboard neighbour, or two transposed.

    >>> typo("Smith", np.random.default_rng(1)) != "Smith"
    True
    """
    if len(text) < 2:
        return text + "x"
    kind = int(rng.integers(4))
    i = int(rng.integers(1, len(text)))  # keep the first letter more often than not
    if kind == 3 and (i == len(text) - 1 or text[i] == text[i + 1]):
        kind = 2  # nothing to transpose
    ch = text[i].lower()
    near = _NEAR.get(ch) or "aeiou"
    new = near[int(rng.integers(len(near)))]
    if kind == 0:  # insert
        return text[:i] + new + text[i:]
    if kind == 1:  # delete
        return text[:i] + text[i + 1 :]
    if kind == 2:  # substitute
        return text[:i] + (new if new != ch else "e") + text[i + 1 :]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # transpose


def _ranked(rng: np.random.Generator, pool: tuple[str, ...], n: int) -> np.ndarray:
    weights = 1.0 / (np.arange(len(pool)) + 10.0)
    return np.array(pool, dtype=object)[rng.choice(len(pool), size=n, p=weights / weights.sum())]


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _phone(rng: np.random.Generator, areas: tuple[str, ...]) -> str:
    """A valid-looking NANP number (exchange 2xx–9xx, not N11, not 555)."""
    while True:
        exchange = int(rng.integers(200, 1000))
        if exchange % 100 != 11 and exchange != 555:
            break
    return f"{_pick(rng, areas)}{exchange}{int(rng.integers(0, 10_000)):04d}"


def _format_phone(digits: object, rng: np.random.Generator) -> str | None:
    if not isinstance(digits, str):
        return None
    a, b, c = digits[:3], digits[3:6], digits[6:]
    style = int(rng.integers(5))
    return (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", digits)[style]


def _email(first: str, last: str, rng: np.random.Generator, taken: set[str]) -> str:
    f, la = first.lower(), last.lower().replace("'", "")
    local = (f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}_{la}", f"{la}.{f}")[int(rng.integers(5))]
    if rng.random() < 0.5:
        local += str(int(rng.integers(1, 100)))
    domain = _DOMAINS[int(np.searchsorted(_DOMAIN_CUM, rng.random() * _DOMAIN_CUM[-1]))]
    while f"{local}@{domain}" in taken:
        local += str(int(rng.integers(10)))
    taken.add(f"{local}@{domain}")
    return f"{local}@{domain}"


def _address(rng: np.random.Generator) -> str:
    street = _pick(rng, STREETS)
    kind = STREET_TYPES[int(rng.integers(len(STREET_TYPES)))]
    return f"{int(rng.integers(1, 9999))} {_pick(rng, _DIRECTIONS)}{street} {kind[0]}"


def _place(rng: np.random.Generator) -> dict[str, str]:
    city, _state, zip3, _areas = CITIES[int(rng.integers(len(CITIES)))]
    return {
        "address": _address(rng),
        "city": city,
        "postal_code": f"{zip3}{int(rng.integers(1, 100)):02d}",
    }


def _areas(city: str) -> tuple[str, ...]:
    return next(c[3] for c in CITIES if c[0] == city)


def _originals(rng: np.random.Generator, n: int, household: float) -> list[dict[str, object]]:
    female = rng.random(n) < 0.5
    firsts = np.where(female, _ranked(rng, FEMALE, n), _ranked(rng, MALE, n))
    lasts = _ranked(rng, LAST, n)
    births = np.datetime64("1940-01-01") + rng.integers(0, 66 * 365, size=n).astype(
        "timedelta64[D]"
    )
    emails: set[str] = set()
    people: list[dict[str, object]] = []
    for i in range(n):
        p: dict[str, object] = {"first_name": firsts[i], "last_name": lasts[i], **_place(rng)}
        p["birth_date"] = births[i]
        p["phone"] = _phone(rng, _areas(str(p["city"])))
        if i and rng.random() < household:  # shares a household with someone listed before
            other = people[int(rng.integers(i))]
            for key in ("last_name", "address", "city", "postal_code", "phone"):
                p[key] = other[key]
        p["email"] = _email(firsts[i], str(p["last_name"]), rng, emails)
        people.append(p)
    for p in people:  # gaps in the originals too
        for key, share in (("email", 0.04), ("phone", 0.10), ("birth_date", 0.05)):
            if rng.random() < share:
                p[key] = None
    return people


def _street_variant(address: str, rng: np.random.Generator) -> str:
    for full, short in STREET_TYPES:
        if address.endswith(" " + full) and rng.random() < 0.6:
            return address[: -len(full)] + (short + "." if rng.random() < 0.3 else short)
    parts = address.split(" ")
    if len(parts) > 2 and len(parts[1]) == 1 and rng.random() < 0.5:
        return " ".join([parts[0], *parts[2:]])  # the direction dropped
    return typo(address, rng)


def _email_variant(email: str, rng: np.random.Generator) -> str:
    local, domain = email.split("@")
    kind = int(rng.integers(4))
    if kind == 0:
        return f"{local}@{_pick(rng, _DOMAINS)}"
    if kind == 1 and "." in local:
        return f"{local.replace('.', '')}@{domain}"
    if kind == 2:
        return f"{local}+shop@{domain}"
    return email.upper()


def _birth_typo(day: np.datetime64, rng: np.random.Generator) -> np.datetime64:
    y, m, d = (int(x) for x in str(day).split("-"))
    if d <= 12 and d != m and rng.random() < 0.5:  # day and month swapped
        return np.datetime64(f"{y:04d}-{d:02d}-{m:02d}")
    return day + np.timedelta64(int(rng.choice([-10, -1, 1, 10, 365, -365])), "D")


def _modify(p: dict[str, object], kind: str, rng: np.random.Generator) -> None:
    s: Callable[[str], str] = lambda key: str(p[key])  # noqa: E731
    if kind in ("typo_first", "typo_last"):
        key = kind.removeprefix("typo_") + "_name"
        p[key] = typo(s(key), rng)
    elif kind == "swap_names":
        p["first_name"], p["last_name"] = p["last_name"], p["first_name"]
    elif kind == "nickname":
        short = NICKNAMES.get(s("first_name"))
        p["first_name"] = _pick(rng, short) if short else typo(s("first_name"), rng)
    elif kind == "missing_birth":
        p["birth_date"] = None
    elif kind == "birth_typo" and p["birth_date"] is not None:
        p["birth_date"] = _birth_typo(p["birth_date"], rng)  # type: ignore[arg-type]
    elif kind == "moved":
        p.update(_place(rng))
        if rng.random() < 0.6:
            p["phone"] = _phone(rng, _areas(s("city")))
    elif kind == "street_variant":
        p["address"] = _street_variant(s("address"), rng)
    elif kind == "email_variant" and p["email"] is not None:
        p["email"] = _email_variant(s("email"), rng)
    elif kind == "new_email":
        p["email"] = _email(s("first_name"), s("last_name"), rng, set())
    elif kind in ("missing_email", "missing_phone"):
        p[kind.removeprefix("missing_")] = None
    elif kind == "new_phone":
        p["phone"] = _phone(rng, _areas(s("city")))
    elif kind == "postal_typo":
        code = s("postal_code")
        i = int(rng.integers(len(code)))
        p["postal_code"] = code[:i] + str(int(rng.integers(10))) + code[i + 1 :]
    elif kind == "upper_case":
        p["first_name"], p["last_name"] = s("first_name").upper(), s("last_name").upper()


def people_with_duplicates(
    n_people: int, duplicate_share: float = 0.3, seed: int = 0, household_share: float = 0.05
) -> pd.DataFrame:
    """Customer records of ``n_people`` people, some recorded more than once, with the truth.

    ``duplicate_share`` of the people have 1–3 more records (1: 70 %, 2: 20 %, 3: 10 %), each a
    copy of the original with 1–3 modifications (see the module docstring), so there are about
    ``n_people × (1 + 1.4 × duplicate_share)`` rows. Rows are shuffled; ``customer_id`` is
    unique per row and ``true_person`` is the answer key. Same arguments → identical frame.
    ``household_share`` of the people live with someone listed before them: same last name,
    address, ZIP and landline, but their own first name, birth date and e-mail.

    >>> df = people_with_duplicates(1000, seed=0)
    >>> len(df), df["true_person"].nunique(), df["customer_id"].is_unique
    (1412, 1000, True)
    """
    if n_people < 1 or not 0 <= duplicate_share <= 1 or not 0 <= household_share <= 1:
        raise ValueError("n_people must be ≥ 1, duplicate_share and household_share in [0, 1]")
    rng = np.random.default_rng([seed, 15])
    people = _originals(rng, n_people, household_share)
    for i, p in enumerate(people):
        p["true_person"] = f"P{i:07d}"
    dup_of = rng.choice(n_people, size=round(duplicate_share * n_people), replace=False)
    copies = rng.choice([1, 2, 3], size=len(dup_of), p=[0.7, 0.2, 0.1])
    kinds, weights = list(_MODS), np.array(list(_MODS.values()))
    records = list(people)
    for i, k in zip(np.sort(dup_of), copies, strict=True):
        for _ in range(int(k)):
            dup = dict(people[i])
            for kind in rng.choice(
                kinds, size=int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2])), replace=False,
                p=weights / weights.sum(),
            ):  # fmt: skip
                _modify(dup, str(kind), rng)
            records.append(dup)
    df = pd.DataFrame.from_records(records)
    df["phone"] = [_format_phone(x, rng) for x in df["phone"]]
    df["birth_date"] = pd.to_datetime(df["birth_date"]).dt.date
    df["country"] = "US"
    ids = rng.choice(9_000_000, size=len(df), replace=False) + 1_000_000
    df["customer_id"] = [f"C{x}" for x in ids]
    order = rng.permutation(len(df))
    return df.iloc[order][list(PEOPLE_COLUMNS)].reset_index(drop=True)

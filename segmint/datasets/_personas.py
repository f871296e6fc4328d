"""The five planted customer segments (personas): every behavioural knob of the generator.

The segments live here as data, so they can be read (and tuned) in one place. Each persona
differs from the others in several per-customer features at once (frequency, order value,
discount share, channel mix, category mix, age, income, children, recency, tenure), with
per-customer noise around the persona's centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "EDUCATION",
    "NEEDS",
    "PERSONAS",
    "SURVEY_ITEMS",
    "Persona",
    "persona_matrix",
]

CATEGORIES: tuple[str, ...] = ("electronics", "home", "fashion", "beauty", "kids", "grocery")
CHANNELS: tuple[str, ...] = ("web", "app", "store")


@dataclass(frozen=True)
class Persona:
    """One planted segment: how its customers look and how they shop."""

    name: str
    description: str
    share: float
    #: orders per customer over the period: minimum + Poisson(mean - minimum), clipped at maximum.
    orders: tuple[int, float, int]
    #: Poisson mean of lines per order beyond the first.
    extra_lines: float
    #: Poisson mean of units per line beyond the first.
    extra_units: float
    #: Beta(a, b) over the price-sorted products of a category (a > b: expensive products).
    price_beta: tuple[float, float]
    #: probability that a line is discounted, and the uniform range of the discount rate.
    discount: tuple[float, float, float]
    #: mean share of orders per channel (web, app, store).
    channels: tuple[float, float, float]
    #: mean share of lines per category, in CATEGORIES order.
    categories: tuple[float, float, float, float, float, float]
    #: signup time as fractions of the period (negative: before the period starts).
    signup: tuple[float, float]
    #: True: all orders fall in a short window after signup, ending > 300 days before the end.
    lapsed: bool
    #: age in years: mean, standard deviation, minimum, maximum.
    age: tuple[float, float, int, int]
    #: income: median and log-normal sigma, and a floor.
    income: tuple[float, float, float]
    #: probability of 0, 1, 2, 3, 4 children.
    children: tuple[float, float, float, float, float]
    education: tuple[float, float, float, float, float]
    occupations: tuple[str, ...]
    #: mean number of web/app/e-mail events per customer over the period.
    events: float
    #: event mix: page_view, add_to_cart, email_open, email_click, search.
    event_mix: tuple[float, float, float, float, float]
    #: share of urban, suburban, rural customers.
    settlement: tuple[float, float, float]
    #: typical order value, for revenue attributed to campaign contacts.
    basket: float
    #: probability of opening a campaign e-mail; also scales clicks and engagement.
    engagement: float
    #: probability of answering a survey or writing a review.
    feedback: float
    #: mean star rating.
    rating: float
    #: share of the persona in each needs group (NEEDS order: price, quality, eco, indifferent);
    #: what a customer says in surveys follows the group, not the persona.
    needs: tuple[float, float, float, float]


EDUCATION: tuple[str, ...] = ("secondary", "vocational", "bachelor", "master", "doctorate")

#: survey items (Likert 1–5) measuring each of three needs: price, quality, eco
SURVEY_ITEMS: tuple[tuple[str, ...], ...] = (
    ("q_price_sensitive", "q_waits_for_sales", "q_compares_prices"),
    ("q_quality_focused", "q_pays_for_brands", "q_values_durability"),
    ("q_eco_minded", "q_prefers_local", "q_avoids_packaging"),
)
#: planted needs groups: mean level (1–5) of the price, quality and eco needs; a customer's
#: own levels vary around the group's (sd 0.35), each answer around the customer's (sd 0.6)
NEEDS: dict[str, tuple[float, float, float]] = {
    "Price first": (4.4, 2.4, 2.4),
    "Quality first": (2.0, 4.4, 3.0),
    "Eco first": (2.6, 3.0, 4.5),
    "Indifferent": (2.2, 2.2, 1.8),
}

PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="Champions",
        description="Frequent, recent, high-value web shoppers who rarely use discounts.",
        share=0.15,
        orders=(18, 28.0, 45),
        extra_lines=0.45,
        extra_units=0.15,
        price_beta=(4.0, 1.8),
        discount=(0.05, 0.05, 0.10),
        channels=(0.78, 0.14, 0.08),
        categories=(0.28, 0.24, 0.16, 0.26, 0.03, 0.03),
        signup=(-0.6, 0.15),
        lapsed=False,
        age=(47.0, 7.0, 32, 68),
        income=(88_000.0, 0.25, 45_000.0),
        children=(0.50, 0.30, 0.20, 0.0, 0.0),
        education=(0.05, 0.10, 0.35, 0.40, 0.10),
        occupations=("manager", "physician", "lawyer", "engineer", "business owner", "architect"),
        events=40.0,
        event_mix=(0.45, 0.15, 0.20, 0.08, 0.12),
        settlement=(0.50, 0.35, 0.15),
        basket=380.0,
        engagement=0.55,
        feedback=0.55,
        rating=4.5,
        needs=(0.05, 0.60, 0.25, 0.10),
    ),
    Persona(
        name="Bargain Hunters",
        description="Many small, heavily discounted orders, mostly grocery and home goods.",
        share=0.25,
        orders=(10, 19.0, 38),
        extra_lines=0.2,
        extra_units=0.6,
        price_beta=(1.0, 5.0),
        discount=(0.85, 0.20, 0.50),
        channels=(0.50, 0.20, 0.30),
        categories=(0.03, 0.38, 0.05, 0.04, 0.04, 0.46),
        signup=(-0.3, 0.45),
        lapsed=False,
        age=(52.0, 12.0, 20, 80),
        income=(30_000.0, 0.30, 9_000.0),
        children=(0.60, 0.25, 0.15, 0.0, 0.0),
        education=(0.40, 0.35, 0.18, 0.06, 0.01),
        occupations=("retail worker", "clerk", "retiree", "driver", "cook", "cleaner"),
        events=30.0,
        event_mix=(0.35, 0.15, 0.15, 0.05, 0.30),
        settlement=(0.40, 0.30, 0.30),
        basket=10.0,
        engagement=0.35,
        feedback=0.35,
        rating=3.8,
        needs=(0.70, 0.05, 0.10, 0.15),
    ),
    Persona(
        name="Young Professionals",
        description="Aged 22-35, earning well; recent sign-ups, app-first, electronics, fashion.",
        share=0.20,
        orders=(4, 9.0, 18),
        extra_lines=0.45,
        extra_units=0.05,
        price_beta=(2.5, 2.0),
        discount=(0.20, 0.10, 0.20),
        channels=(0.14, 0.80, 0.06),
        categories=(0.40, 0.03, 0.36, 0.17, 0.01, 0.03),
        signup=(0.45, 0.85),
        lapsed=False,
        age=(28.5, 3.5, 22, 35),
        income=(68_000.0, 0.18, 50_500.0),
        children=(1.0, 0.0, 0.0, 0.0, 0.0),
        education=(0.02, 0.08, 0.50, 0.35, 0.05),
        occupations=("software engineer", "consultant", "designer", "analyst", "marketing manager"),
        events=50.0,
        event_mix=(0.55, 0.20, 0.05, 0.02, 0.18),
        settlement=(0.80, 0.15, 0.05),
        basket=220.0,
        engagement=0.45,
        feedback=0.30,
        rating=4.0,
        needs=(0.15, 0.25, 0.40, 0.20),
    ),
    Persona(
        name="Families",
        description="Parents aged 30-50 in large households; bulk kids and grocery buys in store.",
        share=0.25,
        orders=(4, 7.0, 14),
        extra_lines=1.8,
        extra_units=2.0,
        price_beta=(1.6, 2.4),
        discount=(0.30, 0.10, 0.25),
        channels=(0.14, 0.10, 0.76),
        categories=(0.04, 0.12, 0.06, 0.04, 0.40, 0.34),
        signup=(-0.4, 0.40),
        lapsed=False,
        age=(40.0, 5.0, 30, 50),
        income=(56_000.0, 0.25, 20_000.0),
        children=(0.0, 0.35, 0.40, 0.18, 0.07),
        education=(0.15, 0.35, 0.30, 0.17, 0.03),
        occupations=("teacher", "nurse", "technician", "civil servant", "electrician", "engineer"),
        events=15.0,
        event_mix=(0.40, 0.15, 0.25, 0.05, 0.15),
        settlement=(0.15, 0.55, 0.30),
        basket=150.0,
        engagement=0.30,
        feedback=0.30,
        rating=4.0,
        needs=(0.35, 0.20, 0.20, 0.25),
    ),
    Persona(
        name="Lapsed",
        description="One to three orders soon after signing up, none in the last 300+ days.",
        share=0.15,
        orders=(1, 1.8, 3),
        extra_lines=1.0,
        extra_units=0.2,
        price_beta=(2.0, 2.0),
        discount=(0.25, 0.10, 0.30),
        channels=(0.95, 0.03, 0.02),
        categories=(0.02, 0.02, 0.92, 0.02, 0.01, 0.01),
        signup=(-0.1, 0.25),
        lapsed=True,
        age=(55.0, 13.0, 20, 85),
        income=(42_000.0, 0.35, 12_000.0),
        children=(0.70, 0.15, 0.15, 0.0, 0.0),
        education=(0.25, 0.30, 0.25, 0.15, 0.05),
        occupations=("retiree", "self-employed", "sales assistant", "farmer", "accountant"),
        events=3.0,
        event_mix=(0.30, 0.05, 0.50, 0.02, 0.13),
        settlement=(0.30, 0.30, 0.40),
        basket=80.0,
        engagement=0.06,
        feedback=0.12,
        rating=2.6,
        needs=(0.30, 0.10, 0.10, 0.50),
    ),
)


def persona_matrix(attribute: str) -> np.ndarray:
    """A numeric persona attribute as an array with one row per persona (PERSONAS order).

    >>> persona_matrix("channels").shape
    (5, 3)
    """
    return np.array([getattr(p, attribute) for p in PERSONAS], dtype=float)

"""The Hillstrom e-mail test (64,000 customers, ../shared/data) as campaign results files.

Each treatment arm is a campaign: ``HM`` (Mens e-mail) and ``HW`` (Womens e-mail) were sent,
``HN`` (no e-mail, the hold-out) is imported with ``sent = false``. The two e-mails are given
different channel names, "mens e-mail" and "womens e-mail", so that "which channel each
segment responds to best" has real, randomized data to compare; the segment is the customer's
purchase channel (Hillstrom's ``channel``: Phone, Web, Multichannel). ``visit`` (the customer
came to the website) is the click, ``conversion`` the conversion, ``spend`` the revenue; opens
were not recorded. Costs are 0.10 per e-mail sent; the hold-out has no cost.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.conftest import shared_file

ARMS = {"Mens E-Mail": "HM", "Womens E-Mail": "HW", "No E-Mail": "HN"}
CHANNELS = {"HM": "mens e-mail", "HW": "womens e-mail", "HN": "no e-mail"}
COST_PER_EMAIL = 0.10


def hillstrom() -> pd.DataFrame:
    """The published file, with ``campaign_id`` and ``customer_id`` added."""
    h = pd.read_csv(shared_file("hillstrom_email_2008", "hillstrom.csv"))
    h["campaign_id"] = h["segment"].map(ARMS)
    h["customer_id"] = [f"H{i:05d}" for i in range(len(h))]
    return h


def write_files(h: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """campaigns.csv and contacts.csv as a user would export them."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = h.groupby("campaign_id").size()
    campaigns = pd.DataFrame(
        {
            "campaign_id": list(CHANNELS),
            "name": ["Mens e-mail", "Womens e-mail", "No e-mail (hold-out)"],
            "channel": list(CHANNELS.values()),
            "cost": [round(sizes[c] * COST_PER_EMAIL, 2) for c in ("HM", "HW")] + [None],
            "started_at": ["2008-03-01"] * 3,
        }
    )
    contacts = pd.DataFrame(
        {
            "campaign_id": h["campaign_id"],
            "customer_id": h["customer_id"],
            "segment": h["channel"],
            "sent": h["campaign_id"] != "HN",
            "clicked": h["visit"].astype(bool),
            "converted": h["conversion"].astype(bool),
            "revenue": h["spend"],
        }
    )
    paths = folder / "campaigns.csv", folder / "contacts.csv"
    campaigns.to_csv(paths[0], index=False)
    contacts.to_csv(paths[1], index=False)
    return paths

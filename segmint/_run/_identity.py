"""Linking within ``segmint run`` and ``segmint update``: persons kept current.

A workspace that has an identity model (``segmint dedupe`` ran once, or the spec says
``identity: {link: true}``) matches the customer records each run or update brought in
against it, incrementally, before features are built: without it a returning customer's new
account would count as a new person until someone ran ``segmint dedupe`` by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from segmint.identity import IdentityOptions
from segmint.identity.link import latest_model, unplaced_count

if TYPE_CHECKING:
    from segmint._workspace import Workspace
    from segmint.spec import Spec

__all__ = ["link_new"]


def link_new(ws: Workspace, spec: Spec, say: Callable[[str], None]) -> str | None:
    """Link before features when the spec asks for it or a model exists; a note, or None."""
    ident = spec.identity
    store = ws.store
    model = latest_model(store)
    if not ident.link and model is None:
        return None
    if not store.has_table("customers"):
        return None
    new = unplaced_count(store)
    if model is not None and new == 0 and ident.threshold in (None, model[2]):
        return None
    say("Linking customer records (segmint dedupe)")
    done = ws.dedupe(options=IdentityOptions.from_spec(ident), progress=say)
    how = "matched against the stored model" if done.mode == "incremental" else "linked"
    return (
        f"Identity: {done.new_records:,} customer records {how}; {done.records:,} records "
        f"are {done.persons:,} persons (segmint dedupe --review shows the doubtful pairs)."
    )

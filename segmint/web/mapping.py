"""The mapping screen's data: which canonical column each header fills, and which are required.

``services.preview_upload`` gives the detected table and mapping, or, when a required column
could not be found, only the problem. :func:`suggest` then still preselects what it can (the
same alias tables the importer uses), so the user fixes just the missing columns.
"""

from __future__ import annotations

from typing import Any

from segmint.ingest.formats import GENERIC_ALIASES, detect, generic, normalize_header
from segmint.ingest.mapping import guess_entity
from segmint.store.schema import CANONICAL

__all__ = ["changed", "mapping_view", "suggest"]


def suggest(headers: list[str], table: str) -> dict[str, str]:
    """canonical column → header, from the detected format's aliases, then generic ones."""
    fmt = detect(headers, table) or generic(table)
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalize_header(h), h)
    out: dict[str, str] = {}
    used: set[str] = set()
    for aliases in (dict(fmt.aliases), GENERIC_ALIASES[table]):
        for canon in CANONICAL[table].names:
            if canon in out:
                continue
            for alias in aliases.get(canon, ()):
                found = by_norm.get(normalize_header(alias))
                if found is not None and found not in used:
                    out[canon] = found
                    used.add(found)
                    break
    return out


def _required(table: str) -> list[tuple[str, ...]]:
    """The table's required columns the importer cannot fill itself: a customers file without
    an id gets its rows numbered 1…N (segmint.ingest.mapping)."""
    return [
        alts
        for alts in CANONICAL[table].required
        if not (table == "customers" and "customer_id" in alts)
    ]


def _requirement(table: str, column: str) -> str:
    if table == "customers" and column in ("customer_id", "email"):
        return "Optional (without it, rows are numbered 1…N as customer_id)"
    for alternatives in _required(table):
        if column in alternatives:
            others = [a for a in alternatives if a != column]
            return "Required" if not others else f"Required (or {' or '.join(others)})"
    return ""


def mapping_view(preview: dict[str, Any], table: str | None) -> dict[str, Any]:
    """Everything the mapping screen shows; ``table`` overrides the detected one."""
    headers = [str(h) for h in preview["headers"]]
    detected = preview.get("table") or guess_entity(headers)
    chosen = table if table in CANONICAL else detected or "orders"
    if chosen == preview.get("table"):
        mapping = dict(preview.get("mapping") or {})
    else:
        mapping = suggest(headers, chosen)
    schema = CANONICAL[chosen]
    unmet = {a for alts in _required(chosen) if not any(x in mapping for x in alts) for a in alts}
    columns = [
        {
            "name": c.name,
            "description": c.description,
            "required": _requirement(chosen, c.name),
            "selected": mapping.get(c.name, ""),
            "needed": c.name in unmet,
        }
        for c in schema.columns
    ]
    missing = [
        " or ".join(alts) for alts in _required(chosen) if not any(a in mapping for a in alts)
    ]
    return {
        "table": chosen,
        "detected": detected,
        "tables": list(CANONICAL),
        "format": preview.get("format") or "generic",
        "kind": preview.get("kind"),
        "rows": preview.get("rows"),
        "headers": headers,
        "columns": columns,
        "missing": missing,
        "problem": preview.get("problem") if table is None or chosen == detected else None,
        "detected_mapping": mapping if chosen == preview.get("table") else {},
    }


def changed(form: dict[str, str], detected: dict[str, str]) -> dict[str, str]:
    """The explicit mapping to import with: the selections that differ from detection."""
    return {
        canon: header for canon, header in form.items() if header and detected.get(canon) != header
    }

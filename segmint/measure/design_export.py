"""One audience file per variant of a split test, through the activation exporters.

Each variant but the hold-out is exported with :func:`segmint.activate.export.export_audience`
limited to the variant's customers (``customer_ids``), so a variant's file follows every
rule of an export: consent and identifiers per destination, the platform's minimum audience,
hashing, the log (``exports`` with the label ``experiment NAME (ID), variant V``, and
``export_members``). The hold-out gets no file: it is the group nobody contacts.

The files are written after the design is committed. When the exporter refuses a variant (an
ad audience under the platform's minimum), the design stays stored and the error says so;
designing it again with ``replace`` gives every customer the same variant (same salt).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from segmint.activate.export import ExportResult, export_audience
from segmint.activate.exporters import lookup
from segmint.exceptions import ExportError, SpecError
from segmint.store import Store

if TYPE_CHECKING:
    from segmint.measure.design import Design

__all__ = ["check_export", "export_variants", "variant_file", "variant_label"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def check_export(
    destination: str,
    out: str | os.PathLike[str] | None,
    *,
    hashed: bool | None = None,
    min_size: int | None = None,
) -> None:
    """Refuse before anything is stored: an unknown destination, hashing for a plain-text
    one, a negative minimum, no folder, a file given as the folder."""
    exporter = lookup(destination)  # an unknown destination is an ExportError listing them
    if hashed and not exporter.hashable:
        raise ExportError(
            f"{exporter.title} imports plain text; it cannot take hashed identifiers.",
            fix="leave hashing unset; hashing applies to google-ads and meta.",
        )
    if min_size is not None and min_size < 0:
        raise SpecError(
            f"The minimum audience size (--min-size, min_size) must be 0 or more. Got {min_size}."
        )
    if out is None:
        raise SpecError(
            f"Exporting the variants to {destination} needs a folder for the files.",
            fix="add --out DIR (Python and the API: out=...).",
        )
    if Path(out).exists() and not Path(out).is_dir():
        raise SpecError(
            f"'{out}' is a file; the variants' audience files go into a folder.",
            fix="give a folder (it is created when missing), e.g. --out audiences/.",
        )


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._")[:60] or "x"


def variant_file(design: Design, variant: str, destination: str) -> str:
    """The file name of a variant's audience: ``NAME-VARIANT-DESTINATION.csv``, file-safe."""
    return f"{_safe(design.name)}-{_safe(variant)}-{lookup(destination).name}.csv"


def variant_label(design: Design, variant: str) -> str:
    """What the export log says the file holds."""
    return f"experiment {design.name} ({design.experiment_id}), variant {variant}"


def export_variants(
    store: Store,
    design: Design,
    *,
    destination: str,
    out: str | os.PathLike[str],
    hashed: bool | None = None,
    min_size: int | None = None,
    assume_consent: bool = False,
    created_by: str | None = None,
) -> list[ExportResult]:
    """Write and log one audience file per variant but the hold-out, into the folder ``out``."""
    check_export(destination, out, hashed=hashed, min_size=min_size)
    folder = Path(out).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    done: list[ExportResult] = []
    for variant in design.variants:
        if variant == design.control:
            continue
        ids = (
            store.db.sql(
                "SELECT customer_id FROM experiment_assignments "
                "WHERE experiment_id = ? AND variant = ?",
                params=[design.experiment_id, variant],
            )
            .to_arrow_table()
            .column("customer_id")
        )
        try:
            done.append(
                export_audience(
                    store,
                    segmentation=design.segmentation,
                    segments=design.segments,
                    destination=destination,
                    out=folder / variant_file(design, variant, destination),
                    run_id=design.run_id,
                    hashed=hashed,
                    min_size=min_size,
                    assume_consent=assume_consent,
                    created_by=created_by,
                    customer_ids=ids,
                    label=variant_label(design, variant),
                )
            )
        except ExportError as exc:
            written = ", ".join(Path(r.path).name for r in done) or "none"
            raise ExportError(
                f"The design '{design.name}' ({design.experiment_id}) is stored, but variant "
                f"'{variant}' could not be exported: {exc.problem} Files written: {written}.",
                fix=f"{exc.fix or ''} Then design it again with --replace (Python and the "
                "API: replace=True): the same salt gives every customer the same variant.",
            ) from None
    return done

"""The pipeline spec: typed data loaded from YAML, validated with every problem reported at once.

```yaml
sources:
  - path: exports/orders.csv          # relative to the spec file
    as: orders                        # optional: the format or headers decide
    format: auto                      # auto | generic | shopify | stripe | …
    mapping:                          # canonical column: source header; always wins
      customer_id: Client No
      ordered_at: Order Date
    options: {delimiter: ";", encoding: latin-1, date_format: "%d/%m/%Y",
              timezone: Europe/Berlin, sheet: Orders, table: orders}
quality:                              # gates: largest share of bad values allowed
  max_invalid_dates: 0.02
  max_invalid_emails: 0.3
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segmint.exceptions import SpecError
from segmint.spec.gates import QualityGates
from segmint.store.schema import CANONICAL

__all__ = ["SourceOptions", "SourceSpec", "Spec", "load_spec"]


class SourceOptions(BaseModel):
    """How to read one source; every field is optional (sniffing fills the gaps)."""

    model_config = ConfigDict(extra="forbid")

    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    table: str | None = None
    query: str | None = None
    timezone: str | None = None
    date_format: str | None = None


class SourceSpec(BaseModel):
    """One file or database table to import."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    path: str
    as_: str | None = Field(None, alias="as")
    format: str = "auto"
    mapping: dict[str, str] = Field(default_factory=dict)
    options: SourceOptions = Field(default_factory=SourceOptions)
    replace: bool = False

    @field_validator("as_")
    @classmethod
    def _known_table(cls, v: str | None) -> str | None:
        if v is not None and v not in CANONICAL:
            raise ValueError(f"'{v}' is not a table; use one of {', '.join(CANONICAL)}")
        return v


class Spec(BaseModel):
    """The whole pipeline spec (sources and quality gates for now)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] = Field(default_factory=list)
    quality: QualityGates = Field(default_factory=QualityGates)
    #: folder the spec was loaded from; source paths are relative to it
    base_dir: Path = Path(".")

    def source_path(self, source: SourceSpec) -> str:
        if "://" in source.path:
            return source.path
        p = Path(source.path).expanduser()
        return str(p if p.is_absolute() else self.base_dir / p)

    def source_for(self, location: str) -> SourceSpec | None:
        """The spec entry for a file given on the command line, matched by path or name."""
        target = Path(location).resolve() if "://" not in location else None
        for s in self.sources:
            if s.path == location:
                return s
            if (
                target is not None
                and "://" not in s.path
                and (Path(self.source_path(s)).resolve() == target)
            ):
                return s
        return None


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML (or JSON) spec; raise one SpecError listing every problem."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"There is no spec file at '{p}'.", fix="check the path to the YAML spec.")
    try:
        data: Any = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}, line {mark.line + 1}" if mark is not None else str(p)
        raise SpecError(
            f"The spec is not valid YAML: {getattr(exc, 'problem', exc)}.",
            where=where,
            fix="check indentation and quoting around that line (values with ':' or '#' "
            "need quotes).",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(
            "The spec must be a mapping with keys like sources: and quality:.",
            where=str(p),
            fix="start the file with 'sources:'.",
        )
    try:
        spec = Spec.model_validate({**data, "base_dir": p.parent})
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors()]
        raise SpecError(
            f"The spec has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
            + "; ".join(problems)
            + ".",
            where=str(p),
            fix="correct each listed key; see the example at the top of segmint/spec/model.py "
            "or in docs/spec.md.",
            problems=problems,
        ) from None
    return spec


def _describe(err: Any) -> str:
    loc = ""
    for part in err["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    loc = loc.replace("as_", "as")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "is not a known key"
    return f"{loc}: {msg}" if loc else msg

"""Render the report dict to one self-contained HTML page, and write it with its JSON.

The Jinja2 environment autoescapes everything; the only unescaped inserts are the plotly.js
bundle (from the installed ``plotly`` package, once per page) and the charts' JSON, whose
``<``, ``>`` and ``&`` are written as ``\\u003c``-style escapes (see ``_charts``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from segmint.exceptions import SpecError, WorkspaceError
from segmint.report._view import report_view
from segmint.store.results import RunResult

__all__ = ["jsonable", "render_report", "write_report"]

_TEMPLATE = "report.html.j2"
_CHARTS = ("sizes_chart", "lift_chart", "projection_chart", "key_chart")


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("segmint.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # The bundle holds no "</script" today; escaping it keeps that true for later versions.
    return get_plotlyjs().replace("</script", "<\\/script")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: numpy/pandas scalars unwrapped, NaN and ±inf → ``None``,
    dates → ISO text, objects with ``to_dict()`` (profiles, rankings, plans) converted.

    >>> import numpy as np
    >>> jsonable({"n": np.int64(3), "x": float("nan"), "v": np.array([0.5, 1.0])})
    {'n': 3, 'x': None, 'v': [0.5, 1.0]}
    """
    if value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Series | pd.Index):
        return [jsonable(v) for v in list(value)]
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="records"))
    if callable(getattr(value, "to_dict", None)):
        return jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _checked(data: Any) -> dict[str, Any]:
    if isinstance(data, RunResult):
        data = data.to_json()
    if not isinstance(data, Mapping):
        raise SpecError(
            "The report data must be a dict with 'title', 'quality' and 'segmentations'. "
            f"Got {type(data).__name__}.",
            fix="build the run dict as described in segmint/report/README.md.",
        )
    out = jsonable(data)
    if not isinstance(out.get("segmentations", []), list):
        raise SpecError(
            "The report's 'segmentations' must be a list of segmentation dicts. "
            f"Got {type(data.get('segmentations')).__name__}.",
            fix="wrap a single segmentation in a list: {'segmentations': [segmentation]}.",
        )
    return dict(out)


def render_report(data: RunResult | Mapping[str, Any]) -> str:
    """The segmentation report as one self-contained HTML page (a string).

    >>> html = render_report({"title": "Shop segments", "segmentations": []})
    >>> html.startswith("<!DOCTYPE html>"), "Shop segments" in html
    (True, True)
    """
    view = report_view(_checked(data))
    has_charts = (
        any(s.get(c) is not None for s in view["segmentations"] for c in _CHARTS)
        or any(s.get("k_curve") for s in view["segmentations"])
        or bool(view["campaigns"] and view["campaigns"]["chart"])
        or any(
            s["chart"] is not None or s["history"] is not None
            for s in (view["monitoring"] or {}).get("sections", [])
        )
    )
    view["has_charts"] = has_charts
    return (
        _env().get_template(_TEMPLATE).render(r=view, plotly_js=_plotly_js() if has_charts else "")
    )


def write_report(data: RunResult | Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``out_dir``; return (html, json) paths.

    >>> import tempfile
    >>> html_path, json_path = write_report({"segmentations": []}, tempfile.mkdtemp())
    >>> html_path.name, json_path.name
    ('report.html', 'report.json')
    """
    clean = _checked(data)
    page = render_report(clean)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        html_path, json_path = out / "report.html", out / "report.json"
        json_path.write_text(
            json.dumps(clean, indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8"
        )
        html_path.write_text(page, encoding="utf-8")
    except OSError as err:
        raise WorkspaceError(
            f"The report could not be written to {out}: {err.strerror or err}.",
            fix="choose a folder you can write to, e.g. --out ./segmint-out.",
        ) from err
    return html_path, json_path

"""The segmentation report: one self-contained HTML page plus the same numbers as JSON.

* :func:`render_report` — the run dict → HTML (plotly.js embedded once, no network needed);
* :func:`write_report` — writes ``report.html`` and ``report.json`` into a folder;
* :func:`pca_projection` — the 2-D map of customers that the report draws;
* :func:`jsonable` — numpy, pandas, NaN and dates as plain JSON values.

The run dict's shape is described in ``segmint/report/README.md``.

>>> from segmint.report import render_report
>>> "<h1>Segments</h1>" in render_report({"title": "Segments", "segmentations": []})
True
"""

from segmint.report._projection import pca_projection
from segmint.report._render import jsonable, render_report, write_report

__all__ = ["jsonable", "pca_projection", "render_report", "write_report"]

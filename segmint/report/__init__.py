"""The segmentation report: one self-contained HTML page plus the same numbers as JSON.

* :func:`render_report` — the run dict → HTML (plotly.js embedded once, no network needed);
* :func:`write_report` — writes ``report.html`` and ``report.json`` into a folder;
* :func:`pca_projection` — the 2-D map of customers that the report draws;
* :func:`jsonable` — numpy, pandas, NaN and dates as plain JSON values;
* :func:`campaigns_view` — the "Campaign results" section (the web app's Campaigns page too).

The run dict's shape is described in ``segmint/report/README.md``. The web pages reuse the
view models (:func:`segmentation_view`, :func:`quality_view`, :func:`plan_view`), the chart
toolkit (:class:`Chart`, :func:`as_chart`, :func:`base_layout`, :data:`PALETTE`, …) and the
number formatting (``fmt``) exported here.

>>> from segmint.report import render_report
>>> "<h1>Segments</h1>" in render_report({"title": "Segments", "segmentations": []})
True
"""

from segmint.report import _format as fmt
from segmint.report._campaigns import campaigns_view
from segmint.report._cards import plan_view
from segmint.report._charts import DIVERGING, PALETTE, Chart, as_chart, base_layout, plot_text
from segmint.report._charts import _wrap as wrap_label
from segmint.report._needs import needs_view
from segmint.report._projection import pca_projection
from segmint.report._render import jsonable, render_report, write_report
from segmint.report._view import quality_view, segmentation_view

__all__ = [
    "DIVERGING",
    "PALETTE",
    "Chart",
    "as_chart",
    "base_layout",
    "campaigns_view",
    "fmt",
    "jsonable",
    "needs_view",
    "pca_projection",
    "plan_view",
    "plot_text",
    "quality_view",
    "render_report",
    "segmentation_view",
    "wrap_label",
    "write_report",
]

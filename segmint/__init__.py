"""segmint: customer segmentation from raw shop exports to named, ranked, measured segments.

>>> import segmint
>>> ws = segmint.Workspace("shop.duckdb")                      # doctest: +SKIP
>>> ws.ingest("orders.csv"); ws.clean()                        # doctest: +SKIP
>>> ws.features().to_pandas().head()                           # doctest: +SKIP
"""

from segmint import datasets
from segmint._workspace import Workspace
from segmint.exceptions import SegmintError
from segmint.spec import QualityGates, Spec, load_spec

__all__ = ["QualityGates", "SegmintError", "Spec", "Workspace", "datasets", "load_spec"]
__version__ = "0.1.0"

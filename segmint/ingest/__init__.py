"""Collect: read files and databases into the workspace's canonical tables (M1)."""

from segmint.ingest._pipeline import IngestResult, imported_before, ingest
from segmint.ingest.formats import families
from segmint.ingest.readers import ReadOptions

__all__ = ["IngestResult", "ReadOptions", "families", "imported_before", "ingest"]

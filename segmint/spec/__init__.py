"""The pipeline spec as typed data, loaded from YAML."""

from segmint.spec.gates import QualityGates
from segmint.spec.model import SourceOptions, SourceSpec, Spec, load_spec

__all__ = ["QualityGates", "SourceOptions", "SourceSpec", "Spec", "load_spec"]

"""The pipeline spec as typed data, loaded from YAML."""

from segmint.spec.gates import QualityGates

__all__ = ["QualityGates"]

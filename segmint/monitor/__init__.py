"""Monitor: how segments and their features change between runs (M16, M18).

``drift`` compares a feature's distribution between two runs' feature snapshots (Evidently's
defaults); ``migration`` counts customers moving between segments; ``compare`` puts them
together with the alerts that crossed a threshold. Statistics, thresholds and sources:
docs/monitoring.md.
"""

"""Feedback analysed: survey scales and factors (needs), and texts (language, sentiment, topics).

Between ``identity`` and ``features``: the text family of features and the needs segmentation
read what this stage computes.
"""

"""A corpus of hostile input files, generated on the fly (no binary blobs in the repository).

``files`` writes each file into a folder; ``cli`` runs the real ``segmint`` command on it in a
child process and measures its peak memory; ``tests/test_hostile_corpus.py`` says per file
what a user should get (a clear refusal, or an import with the bad rows counted).
"""

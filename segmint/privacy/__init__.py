"""Privacy (M17): keyed hashes, the audit log, consent, erasure, pseudonyms and retention.

Between ``spec`` and ``ingest`` in the pipeline's order: imports consult the suppression list,
and every stage records what it did in the audit log. docs/privacy.md maps each GDPR / CCPA
right to the command that serves it.
"""

from segmint.privacy.audit import Actor, acting_as, current_actor, record
from segmint.privacy.keys import hmac_sql, keyed_hash, normalize, workspace_key

__all__ = [
    "Actor",
    "acting_as",
    "current_actor",
    "hmac_sql",
    "keyed_hash",
    "normalize",
    "record",
    "workspace_key",
]

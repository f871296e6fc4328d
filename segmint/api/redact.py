"""Keep the server's folders out of what a client reads.

Errors raised while reading an upload or running a job name their file by its full path
(``/srv/shop-server/uploads/3f…/orders.csv``), which tells a caller how the server's disk is
laid out. :class:`Redactor` replaces every path under the server's folders with the file's
name (``orders.csv``) in error texts: the API's and the web pages' error answers and the
``error`` of failed jobs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePath

__all__ = ["Redactor"]

#: characters that end a path inside a sentence
_STOP = "\\s'\"`,;()<>"


class Redactor:
    """``redact(text)``: every path under one of ``roots`` becomes its last part."""

    def __init__(self, roots: Iterable[Path]) -> None:
        variants: set[str] = set()
        for root in roots:
            for form in (root, root.absolute(), root.resolve()):
                text = str(form).rstrip("/")
                if len(text) > 1:
                    variants.add(text)
        alternatives = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
        self._pattern = re.compile(rf"(?:{alternatives})(?![^/{_STOP}])(?:/[^{_STOP}]*)?")

    def __call__(self, text: str) -> str:
        return self._pattern.sub(_name, text)

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self(text)


def _name(match: re.Match[str]) -> str:
    path = match.group()
    stripped = path.rstrip(".:")
    return (PurePath(stripped).name or "…") + path[len(stripped) :]

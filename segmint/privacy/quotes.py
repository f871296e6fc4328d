"""How a customer's text is quoted wherever segmint shows it (segment summaries, reports).

A quote collapses whitespace, masks e-mail addresses and long digit runs (phone, card and
account numbers) and is cut at a word boundary. It lives here, before every stage that quotes,
because erasing a person must find their texts as they were quoted: :mod:`segmint.privacy.erase`
quotes each of the person's texts the same way and removes every stored or reported copy.
"""

from __future__ import annotations

import re

__all__ = ["MAX_QUOTE_CHARS", "quote_text"]

#: a quote longer than this is cut at a word boundary and ends with "…"
MAX_QUOTE_CHARS = 240
_SPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: a run of digits and separators (phone, card and account numbers when it holds 7+ digits)
_DIGITS = re.compile(r"\+?\(?\d[\d\s().\/-]{5,}\d")


def _mask_digits(match: re.Match[str]) -> str:
    run = match.group(0)
    return "[number]" if sum(c.isdigit() for c in run) >= 7 else run


def quote_text(text: str | None, max_chars: int = MAX_QUOTE_CHARS) -> str:
    """``text`` as a quote shows it: whitespace collapsed, e-mail addresses and long digit
    runs masked, cut at a word boundary after at most ``max_chars`` characters.

    >>> quote_text("Call me  on +44 20 7946 0958 or mail a.b@example.com")
    'Call me on [number] or mail [e-mail]'
    >>> quote_text("word " * 100, max_chars=20)
    'word word word word…'
    """
    out = _SPACE.sub(" ", str(text or "")).strip()
    out = _DIGITS.sub(_mask_digits, _EMAIL.sub("[e-mail]", out))
    if len(out) <= max_chars:
        return out
    cut = out[:max_chars].rsplit(" ", 1)[0] if " " in out[:max_chars] else out[:max_chars]
    return cut.rstrip(" ,;:.-") + "…"

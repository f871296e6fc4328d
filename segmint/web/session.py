"""Sign-in sessions and CSRF protection for the pages.

A session is a cookie ``segmint_session`` (HttpOnly, SameSite=Strict, Secure when
``settings.secure_cookies``) holding ``{token id, session id, expiry}`` signed with
HMAC-SHA256 under a server key (``session.key`` in the server folder, created once, mode
0600). The token itself never leaves the sign-in form: each request looks the token id up
among the active tokens, so revoking a token ends its sessions at once.

Every form POST carries the session's CSRF token in a hidden ``csrf`` field (JSON calls send it
as ``X-CSRF-Token``); it is an HMAC of the session id, compared with
:func:`hmac.compare_digest`. The sign-in form, which has no session yet, is protected the same
way by a short-lived pre-session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response

from segmint.api.auth import Principal, role_allows
from segmint.api.state import state_of

__all__ = [
    "COOKIE",
    "CsrfFailed",
    "RoleRequired",
    "SignInRequired",
    "WebUser",
    "check_csrf",
    "clear",
    "form_user",
    "issue",
    "json_user",
    "load_key",
    "page_user",
    "read",
    "set_signin_cookie",
    "signin_csrf",
    "signin_csrf_ok",
]

COOKIE = "segmint_session"
PRE_COOKIE = "segmint_signin"
MAX_AGE = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class WebUser:
    """The signed-in token and this session's CSRF token."""

    principal: Principal
    csrf: str

    @property
    def role(self) -> str:
        return self.principal.role

    def can(self, role: str) -> bool:
        return role_allows(self.principal.role, role)


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class RoleRequired(Exception):
    """Signed in, but the token's role is too low for this page or action."""

    def __init__(self, needed: str, user: WebUser) -> None:
        super().__init__(needed)
        self.needed = needed
        self.user = user


class CsrfFailed(Exception):
    """A form POST without this session's CSRF token."""


def load_key(folder: Path) -> bytes:
    """The server's session key: read from ``folder/session.key``, created on first use."""
    path = folder / "session.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.web_key
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def check_csrf(expected: str, given: object) -> bool:
    """True when ``given`` is the expected CSRF token (constant-time comparison)."""
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def issue(request: Request, response: Response, principal: Principal) -> None:
    """Start a session for ``principal`` (sets the signed cookie)."""
    payload = _b64(
        json.dumps(
            {
                "t": principal.token_id,
                "s": secrets.token_urlsafe(16),
                "e": int(time.time()) + MAX_AGE,
            }
        ).encode()
    )
    response.set_cookie(
        COOKIE,
        f"{payload}.{_mac(_key(request), payload)}",
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=state_of(request).settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(PRE_COOKIE, path="/")


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def read(request: Request) -> WebUser | None:
    """The session's user, or None (no cookie, bad signature, expired or revoked token)."""
    raw = request.cookies.get(COOKIE, "")
    payload, _, mac = raw.partition(".")
    key = _key(request)
    if not payload or not hmac.compare_digest(_mac(key, payload).encode(), mac.encode()):
        return None
    try:
        data = json.loads(_unb64(payload))
        token_id, sid, expires = str(data["t"]), str(data["s"]), int(data["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < time.time():
        return None
    for token in state_of(request).tokens.list():
        if token["token_id"] == token_id and token["revoked_at"] is None:
            principal = Principal(token_id, str(token["name"]), str(token["role"]))
            return WebUser(principal, _mac(key, "csrf:" + sid))
    return None


def signin_csrf(request: Request) -> tuple[str, str]:
    """(nonce, token) for the sign-in form: the nonce goes into the pre-session cookie
    (:func:`set_signin_cookie`), the token into the form."""
    nonce = request.cookies.get(PRE_COOKIE, "")
    if not 16 <= len(nonce) <= 64:
        nonce = secrets.token_urlsafe(16)
    return nonce, _mac(_key(request), "signin:" + nonce)


def set_signin_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        PRE_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=state_of(request).settings.secure_cookies,
        path="/",
    )


def signin_csrf_ok(request: Request, given: object) -> bool:
    """True when ``given`` matches the pre-session cookie of this browser."""
    nonce = request.cookies.get(PRE_COOKIE, "")
    return len(nonce) >= 16 and check_csrf(_mac(_key(request), "signin:" + nonce), given)


def _signed_in(request: Request, role: str) -> WebUser:
    user = read(request)
    if user is None:
        raise SignInRequired(request.url.path)
    if not user.can(role):
        raise RoleRequired(role, user)
    return user


def page_user(role: str = "viewer") -> Callable[[Request], WebUser]:
    """Dependency for a page (GET): a session with at least ``role``."""

    def dependency(request: Request) -> WebUser:
        return _signed_in(request, role)

    return dependency


def form_user(role: str = "viewer") -> Callable[[Request], Awaitable[WebUser]]:
    """Dependency for a form POST: a session, its CSRF token in the ``csrf`` field, ``role``."""

    async def dependency(request: Request) -> WebUser:
        user = read(request)
        if user is None:
            raise SignInRequired("/")
        form = await request.form()
        if not check_csrf(user.csrf, form.get("csrf")):
            raise CsrfFailed()
        if not user.can(role):
            raise RoleRequired(role, user)
        return user

    return dependency


def json_user(role: str = "viewer") -> Callable[[Request], WebUser]:
    """Dependency for the pages' JSON calls: a session and the ``X-CSRF-Token`` header."""

    def dependency(request: Request) -> WebUser:
        user = read(request)
        if user is None:
            raise SignInRequired("/")
        if not check_csrf(user.csrf, request.headers.get(CSRF_HEADER)):
            raise CsrfFailed()
        if not user.can(role):
            raise RoleRequired(role, user)
        return user

    return dependency

"""The access runtime: the mode (open or required), the permission catalog, and the principal
resolver the kernel calls on every request (API keys, web sessions, CSRF, cross-site checks).

Checked keys and sessions are remembered in-process for ``access.cache_s`` seconds (a SHA-256
and a dict lookup per request); changes made in this process clear the memory at once.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from aiharness.access import service
from aiharness.access.settings import AccessSettings
from aiharness.config import ConfigError, Settings
from aiharness.db.base import utcnow
from aiharness.db.engine import session_scope
from aiharness.errors import Forbidden, Unauthenticated
from aiharness.observability.logging import get_logger
from aiharness.principal import ANONYMOUS, LOCAL_PRINCIPAL, Principal

log = get_logger("aiharness.access")

SESSION_COOKIE = "aiharness_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CACHE_LIMIT = 10_000


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_mode(settings: Settings, section: AccessSettings) -> bool:
    """Whether callers need no sign-in; open on a non-loopback bind is a configuration error."""
    loopback = is_loopback(settings.host)
    if section.mode == "open" and not loopback:
        raise ConfigError(
            f"access.mode is 'open' but the server binds {settings.host}, which other machines "
            "can reach; set AIHARNESS_ACCESS__MODE=required (or auto), or bind 127.0.0.1"
        )
    return section.mode == "open" or (section.mode == "auto" and loopback)


class _Cache:
    """token hash -> (principal, valid until (monotonic), credential expiry)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[Principal, float, datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        item = self._items.get(key)
        if item is None:
            return None
        principal, until, expires = item
        if time.monotonic() >= until or (expires is not None and expires <= utcnow()):
            self._items.pop(key, None)
            return None
        return principal

    def put(self, key: str, resolved: service.Resolved, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            if len(self._items) >= CACHE_LIMIT:
                self._items.clear()
            self._items[key] = (resolved.principal, time.monotonic() + ttl_s, resolved.expires_at)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class AccessRuntime:
    """Installed on the platform as its principal resolver."""

    def __init__(
        self,
        *,
        settings: Settings,
        section: AccessSettings,
        session_factory: sessionmaker[Session],
        permissions: Mapping[str, str],
    ) -> None:
        self.settings = settings
        self.section = section
        self.session_factory = session_factory
        self.permissions = dict(permissions)
        self.open = open_mode(settings, section)
        self._cache = _Cache()
        self.anonymous = (
            ANONYMOUS
            if not section.public_metrics
            else Principal(
                id="anonymous",
                name="anonymous",
                permissions=frozenset({"metrics:read"}),
                via="anonymous",
            )
        )

    def forget(self) -> None:
        """Forget every remembered key and session (after a change to users, keys, roles)."""
        self._cache.clear()

    # -- the kernel's resolver ------------------------------------------------------------
    async def resolve(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if header is not None:
            principal = await self._from_header(header)
            if principal is not None:
                return principal
        await self.refuse_cross_site(request)
        token = request.cookies.get(SESSION_COOKIE)
        if token and len(token) <= 128:
            principal = await self._lookup(token, self._session_lookup)
            if principal is not None:
                await self._check_csrf(request, principal)
                return principal
        return LOCAL_PRINCIPAL if self.open else self.anonymous

    async def _from_header(self, header: str) -> Principal | None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if self.open and not token.startswith(service.KEY_PREFIX):
            # Open mode: clients that must send some key (the openai SDK) may send anything.
            return None
        if scheme.lower() != "bearer" or not token or " " in token or len(token) > 256:
            raise Unauthenticated(
                "malformed Authorization header; send `Authorization: Bearer aih_...`",
                code="malformed_authorization",
            )
        if not token.startswith(service.KEY_PREFIX):
            raise Unauthenticated("not an aiharness API key (they start with aih_)", code="bad_key")
        principal = await self._lookup(token, self._key_lookup)
        if principal is None:
            raise Unauthenticated("unknown, expired or revoked API key", code="bad_key")
        return principal

    async def _lookup(
        self, token: str, lookup: Callable[[str], service.Resolved | None]
    ) -> Principal | None:
        hashed = service.token_hash(token)
        cached = self._cache.get(hashed)
        if cached is not None:
            return cached
        resolved = await asyncio.to_thread(lookup, token)
        if resolved is None:
            return None
        self._cache.put(hashed, resolved, self.section.cache_s)
        return resolved.principal

    def _key_lookup(self, token: str) -> service.Resolved | None:
        with session_scope(self.session_factory) as session:
            return service.principal_of_key(session=session, key=token, known=self.permissions)

    def _session_lookup(self, token: str) -> service.Resolved | None:
        with session_scope(self.session_factory) as session:
            return service.principal_of_session(
                session=session, token=token, known=self.permissions
            )

    async def refuse_cross_site(self, request: Request) -> None:
        """A browser on another site must not act with this site's cookie (or, in open mode,
        with no credential at all): unsafe requests from elsewhere are refused."""
        if request.method not in UNSAFE_METHODS:
            return
        if request.headers.get("sec-fetch-site") == "cross-site":
            raise Forbidden("cross-site request refused", code="cross_site")
        origin = request.headers.get("origin")
        if origin and origin != "null":
            host = request.headers.get("host", "")
            if urlsplit(origin).netloc.lower() != host.lower():
                raise Forbidden("cross-site request refused (Origin)", code="cross_site")
        elif origin == "null":
            raise Forbidden("cross-site request refused (Origin)", code="cross_site")

    async def _check_csrf(self, request: Request, principal: Principal) -> None:
        if request.method not in UNSAFE_METHODS or principal.csrf_token is None:
            return
        sent = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if sent is None and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not sent or not hmac.compare_digest(sent.encode(), principal.csrf_token.encode()):
            raise Forbidden(
                "missing or wrong CSRF token; reload the page and try again", code="csrf"
            )

    # -- helpers for the faces ------------------------------------------------------------
    def client_address(self, request: Request) -> str:
        if self.section.trust_proxy_headers:
            forwarded = request.headers.get("x-forwarded-for", "")
            first = forwarded.split(",")[0].strip()
            if first:
                return first[:64]
        return request.client.host if request.client else "unknown"

    def is_local_request(self, request: Request) -> bool:
        """From this machine, and not relayed by a proxy (a proxy's requests look local)."""
        if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
            return False
        return request.client is not None and is_loopback(request.client.host)

    def secure_cookie(self, request: Request) -> bool:
        if self.section.cookie_secure != "auto":
            return self.section.cookie_secure == "always"
        if request.url.scheme == "https":
            return True
        proto = request.headers.get("x-forwarded-proto", "")
        return self.section.trust_proxy_headers and proto.lower() == "https"

    def close(self) -> None:
        self.forget()

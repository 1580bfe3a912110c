#!/usr/bin/env python3
"""A stand-in for the Matrix Authentication Service (MAS): what a real Synapse delegates accounts to.

This file owns the fake MAS of the end-to-end tests. It is written from MAS's admin API
specification (the OpenAPI document MAS serves at /api/spec.json) and serves, in memory:

* OAuth 2.0 / OIDC discovery (``GET /.well-known/openid-configuration``), which Synapse reads for
  ``issuer`` and ``account_management_uri`` (``/_matrix/client/v1/auth_metadata``);
* token introspection (``POST /oauth2/introspect``), which Synapse calls with the shared secret for
  every access token it has not cached (2 minutes);
* the client-credentials grant (``POST /oauth2/token``, scope ``urn:mas:admin``) for the admin API;
* MAS's compatibility layer for legacy password logins (``GET``/``POST /_matrix/client/v3/login``):
  a compat session, its token, and the device upserted into Synapse;
* the admin API under ``/api/admin/v1/`` (users, compat / OAuth 2.0 / browser sessions, e-mails,
  upstream links and providers, registration tokens, OAuth 2.0 clients, site config, version) with
  the JSON:API envelope, cursor paging, error bodies and status codes of the specification;
* a test-control API under ``/_standin/`` (below).

Every change MAS would push to the homeserver is pushed synchronously through Synapse's MAS API
(``/_synapse/mas/...``, ``Authorization: Bearer <secret>``), so a test sees its effect at once. With
``--synapse-url ""`` no homeserver is called at all (for contract tests without Synapse).

Where the specification's examples and the behaviour of MAS differ, MAS wins: deactivating sets
``deactivated_at`` and does not lock; a login to a deactivated account is ``M_FORBIDDEN``; a
client-credentials request for a scope the policy refuses is 403 ``invalid_scope``.

Command line::

    python mas_standin.py --port P --synapse-url http://127.0.0.1:S/ --secret SHARED \\
        --client-id ID --client-secret CS --min-password-complexity N --token-ttl SECONDS \\
        --server-name localhost

``--port 0`` picks a free port. Once listening it prints ``mas-standin listening on
127.0.0.1:P`` to stdout. It logs one line per request (method, path, status) to stderr, never a
body, header, password or token. Standard library only, except that the password check imports
``zxcvbn`` when ``--min-password-complexity`` is above 0.

Test-control API (no authentication; loopback only; JSON bodies):

* ``POST /_standin/users {"username", "password"?, "admin"?, "displayname"?}``: creates the user
  like ``POST /api/admin/v1/users`` (provisioned in Synapse) and sets the password without the
  complexity check; answers 201 with the user document.
* ``POST /_standin/compat-token {"username", "device_id"?, "admin"?}``: what ``mas-cli manage
  issue-compatibility-token <username> [device] [--yes-i-want-to-grant-synapse-admin-privileges]``
  does: a compat session (its token carries ``urn:synapse:admin:*`` when ``admin``), the device
  upserted in Synapse; answers ``{"access_token", "device_id", "user_id", "session_id"}``.
* ``POST /_standin/oauth2-session {"username", "client_id"?, "device_id"?, "user_agent"?, "ip"?}``:
  an OAuth 2.0 session (client "Element X" unless named) with a device in Synapse and an access
  token valid for an hour; answers ``{"id", "access_token", "device_id"}``.
* ``POST /_standin/user-session {"username", "user_agent"?, "ip"?}``: a browser session;
  answers ``{"id"}``.
* ``POST /_standin/upstream-link {"username", "subject", "human_account_name"?}``: a link to the
  stand-in's one upstream provider; answers the link document.
* ``POST /_standin/fail {"method", "path_prefix", "status", "title", "count"}``: the next
  ``count`` authenticated admin-API requests whose method matches (``"*"`` for any) and whose path
  starts with ``path_prefix`` are answered with ``status`` and ``{"errors": [{"title"}]}``.
* ``GET /_standin/requests?since=N``: the admin-API requests seen from index N on:
  ``{"next", "requests": [{"index", "method", "path", "query", "status"}]}``.
* ``GET /_standin/info``: ``{"issuer", "admin_client_id", "element_x_client_id",
  "upstream_provider_id"}``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

# --------------------------------------------------------------------------------------------
# Identifiers, tokens, time
# --------------------------------------------------------------------------------------------

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_RE = re.compile(r"^[0123456789ABCDEFGHJKMNPQRSTVWXYZ]{26}$")
ALPHANUMERIC = string.ascii_letters + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

API = "/api/admin/v1"
API_SCOPE = "urn:matrix:client:api:*"
UNSTABLE_API_SCOPE = "urn:matrix:org.matrix.msc2967.client:api:*"
DEVICE_SCOPE_PREFIX = "urn:matrix:client:device:"
SYNAPSE_ADMIN_SCOPE = "urn:synapse:admin:*"
MAS_ADMIN_SCOPE = "urn:mas:admin"
# What an OAuth 2.0 session's access token is worth (the stand-in issues no refresh tokens).
USER_TOKEN_TTL = timedelta(hours=1)


class UlidGenerator:
    """Monotonic ULIDs: 48 bits of milliseconds, 80 random bits; within one millisecond the
    random part is incremented, so IDs sort in creation order (the admin API pages by ID)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self) -> str:
        with self._lock:
            ms = int(time.time() * 1000)
            if ms <= self._last_ms:
                ms = self._last_ms
                random_part = self._last_random + 1
                if random_part >= 1 << 80:
                    ms += 1
                    random_part = int.from_bytes(os.urandom(10), "big")
            else:
                random_part = int.from_bytes(os.urandom(10), "big")
            self._last_ms, self._last_random = ms, random_part
        value = (ms << 80) | random_part
        return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


ULIDS = UlidGenerator()


def random_string(length: int) -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(length))


def _base62(number: int) -> str:
    digits = ""
    while number > 0:
        digits += BASE62[number % 62]
        number //= 62
    return digits.rjust(6, "0")


def new_token(prefix: str) -> str:
    """A token shaped like MAS's: ``<prefix>_<30 alphanumerics>_<CRC-32 in base 62>``;
    ``mat`` for OAuth 2.0 access tokens, ``mct`` for compat access tokens."""
    base = f"{prefix}_{random_string(30)}"
    return f"{base}_{_base62(zlib.crc32(base.encode()))}"


def token_prefix(token: str) -> Optional[str]:
    """The prefix of a well-formed token (checksum included), else None."""
    parts = token.split("_")
    if len(parts) != 3 or len(parts[0]) != 3 or len(parts[1]) != 30 or len(parts[2]) != 6:
        return None
    base = f"{parts[0]}_{parts[1]}"
    if parts[2] != _base62(zlib.crc32(base.encode())):
        return None
    return parts[0]


def now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: Optional[datetime]) -> Optional[str]:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: Any) -> datetime:
    """An RFC 3339 date-time with a zone; ValueError otherwise."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError("not a date-time")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment.astimezone(timezone.utc)


def rust_debug(text: str) -> str:
    """A string quoted the way MAS's error titles quote one (Rust's `{:?}`)."""
    return json.dumps(text, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Errors and responses
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or None for no body
    headers: dict = field(default_factory=dict)
    text: Optional[str] = None  # a plain-text body instead of JSON


class ApiError(Exception):
    """An admin-API error: ``{"errors": [{"title": ...}, ...]}``."""

    def __init__(self, status: int, *titles: str) -> None:
        super().__init__(titles[0])
        self.status = status
        self.titles = titles

    def response(self) -> Response:
        return Response(self.status, {"errors": [{"title": t} for t in self.titles]})


class BodyError(Exception):
    """A request body the admin API's JSON extractor refuses (a plain-text answer, as axum's)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        return Response(self.status, text=str(self))


class OAuthError(Exception):
    """An OAuth 2.0 error: ``{"error", "error_description"}``."""

    DESCRIPTIONS = {
        "invalid_client": "Client authentication failed.",
        "unauthorized_client": "The client is not authorized to request an access token using this method.",
        "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
        "invalid_request": "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
        "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    }

    def __init__(self, status: int, error: str, description: Optional[str] = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description or self.DESCRIPTIONS.get(error, error)

    def response(self) -> Response:
        return Response(
            self.status,
            {"error": self.error, "error_description": self.description},
            {"Cache-Control": "no-store"},
        )


class MatrixError(Exception):
    """A client-server API error: ``{"errcode", "error"}``."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.errcode = errcode
        self.error = error

    def response(self) -> Response:
        return Response(self.status, {"errcode": self.errcode, "error": self.error})


class HomeserverError(Exception):
    """Synapse's MAS API failed."""


# --------------------------------------------------------------------------------------------
# The records (attribute names are the specification's)
# --------------------------------------------------------------------------------------------


@dataclass
class User:
    TYPE = "user"
    PATH = f"{API}/users"
    id: str
    username: str
    created_at: datetime
    locked_at: Optional[datetime] = None
    deactivated_at: Optional[datetime] = None
    admin: bool = False
    legacy_guest: bool = False
    displayname: Optional[str] = None
    avatar_url: Optional[str] = None
    password_salt: bytes = b""
    password_hash: Optional[bytes] = None

    def attributes(self) -> dict:
        return {
            "username": self.username,
            "created_at": rfc3339(self.created_at),
            "locked_at": rfc3339(self.locked_at),
            "deactivated_at": rfc3339(self.deactivated_at),
            "admin": self.admin,
            "legacy_guest": self.legacy_guest,
        }

    def set_password(self, password: str) -> None:
        self.password_salt = os.urandom(16)
        self.password_hash = _hash_password(password, self.password_salt)

    def password_matches(self, password: str) -> bool:
        if self.password_hash is None:
            return False
        return hmac.compare_digest(self.password_hash, _hash_password(password, self.password_salt))

    def is_valid(self) -> bool:
        return self.locked_at is None and self.deactivated_at is None


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10_000)


@dataclass
class CompatSession:
    TYPE = "compat-session"
    PATH = f"{API}/compat-sessions"
    id: str
    user_id: str
    device_id: Optional[str]
    created_at: datetime
    is_synapse_admin: bool = False
    user_session_id: Optional[str] = None
    redirect_uri: Optional[str] = None
    user_agent: Optional[str] = None
    last_active_at: Optional[datetime] = None
    last_active_ip: Optional[str] = None
    finished_at: Optional[datetime] = None
    human_name: Optional[str] = None

    def attributes(self) -> dict:
        return {
            "user_id": self.user_id,
            "device_id": self.device_id,
            "user_session_id": self.user_session_id,
            "redirect_uri": self.redirect_uri,
            "created_at": rfc3339(self.created_at),
            "user_agent": self.user_agent,
            "last_active_at": rfc3339(self.last_active_at),
            "last_active_ip": self.last_active_ip,
            "finished_at": rfc3339(self.finished_at),
            "human_name": self.human_name,
        }


@dataclass
class OAuth2Session:
    TYPE = "oauth2-session"
    PATH = f"{API}/oauth2-sessions"
    id: str
    client_id: str
    scope: str
    created_at: datetime
    user_id: Optional[str] = None
    user_session_id: Optional[str] = None
    user_agent: Optional[str] = None
    last_active_at: Optional[datetime] = None
    last_active_ip: Optional[str] = None
    finished_at: Optional[datetime] = None
    human_name: Optional[str] = None

    def attributes(self) -> dict:
        return {
            "created_at": rfc3339(self.created_at),
            "finished_at": rfc3339(self.finished_at),
            "user_id": self.user_id,
            "user_session_id": self.user_session_id,
            "client_id": self.client_id,
            "scope": self.scope,
            "user_agent": self.user_agent,
            "last_active_at": rfc3339(self.last_active_at),
            "last_active_ip": self.last_active_ip,
            "human_name": self.human_name,
        }

    def device_id(self) -> Optional[str]:
        for token in self.scope.split():
            if token.startswith(DEVICE_SCOPE_PREFIX):
                return token[len(DEVICE_SCOPE_PREFIX):]
        return None


@dataclass
class UserSession:
    TYPE = "user-session"
    PATH = f"{API}/user-sessions"
    id: str
    user_id: str
    created_at: datetime
    user_agent: Optional[str] = None
    last_active_at: Optional[datetime] = None
    last_active_ip: Optional[str] = None
    finished_at: Optional[datetime] = None

    def attributes(self) -> dict:
        return {
            "created_at": rfc3339(self.created_at),
            "finished_at": rfc3339(self.finished_at),
            "user_id": self.user_id,
            "user_agent": self.user_agent,
            "last_active_at": rfc3339(self.last_active_at),
            "last_active_ip": self.last_active_ip,
        }


@dataclass
class UserEmail:
    TYPE = "user-email"
    PATH = f"{API}/user-emails"
    id: str
    user_id: str
    email: str
    created_at: datetime

    def attributes(self) -> dict:
        return {"created_at": rfc3339(self.created_at), "user_id": self.user_id, "email": self.email}


@dataclass
class UpstreamProvider:
    TYPE = "upstream-oauth-provider"
    PATH = f"{API}/upstream-oauth-providers"
    id: str
    issuer: Optional[str]
    human_name: Optional[str]
    brand_name: Optional[str]
    created_at: datetime
    disabled_at: Optional[datetime] = None
    registration_token_required: bool = False

    def attributes(self) -> dict:
        return {
            "issuer": self.issuer,
            "human_name": self.human_name,
            "brand_name": self.brand_name,
            "created_at": rfc3339(self.created_at),
            "disabled_at": rfc3339(self.disabled_at),
            "registration_token_required": self.registration_token_required,
        }


@dataclass
class UpstreamLink:
    TYPE = "upstream-oauth-link"
    PATH = f"{API}/upstream-oauth-links"
    id: str
    provider_id: str
    subject: str
    created_at: datetime
    user_id: Optional[str] = None
    human_account_name: Optional[str] = None

    def attributes(self) -> dict:
        return {
            "created_at": rfc3339(self.created_at),
            "provider_id": self.provider_id,
            "subject": self.subject,
            "user_id": self.user_id,
            "human_account_name": self.human_account_name,
        }


@dataclass
class RegistrationToken:
    TYPE = "user-registration_token"  # sic: the specification's spelling
    PATH = f"{API}/user-registration-tokens"
    id: str
    token: str
    created_at: datetime
    usage_limit: Optional[int] = None
    times_used: int = 0
    last_used_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now()

    def valid(self) -> bool:
        return (
            self.revoked_at is None
            and not self.expired()
            and (self.usage_limit is None or self.times_used < self.usage_limit)
        )

    def attributes(self) -> dict:
        return {
            "token": self.token,
            "valid": self.valid(),
            "usage_limit": self.usage_limit,
            "times_used": self.times_used,
            "created_at": rfc3339(self.created_at),
            "last_used_at": rfc3339(self.last_used_at),
            "expires_at": rfc3339(self.expires_at),
            "revoked_at": rfc3339(self.revoked_at),
        }


@dataclass
class OAuth2Client:
    TYPE = "oauth2-client"
    PATH = f"{API}/oauth2-clients"
    id: str
    client_name: Optional[str]
    redirect_uris: list
    grant_types: list
    is_static: bool
    secret: Optional[str] = None
    client_uri: Optional[str] = None
    logo_uri: Optional[str] = None
    created_at: datetime = field(default_factory=now)

    def attributes(self) -> dict:
        return {
            "client_id": self.id,
            "client_name": self.client_name,
            "client_uri": self.client_uri,
            "logo_uri": self.logo_uri,
            "redirect_uris": self.redirect_uris,
            "grant_types": self.grant_types,
            "is_static": self.is_static,
        }


@dataclass
class AccessToken:
    kind: str  # "oauth2" or "compat"
    session_id: str
    created_at: datetime
    expires_at: Optional[datetime]


def resource(record: Any, paged: bool = False) -> dict:
    """One JSON:API resource object; in a list, with its paging cursor."""
    document = {
        "type": record.TYPE,
        "id": record.id,
        "attributes": record.attributes(),
        "links": {"self": f"{record.PATH}/{record.id}"},
    }
    if paged:
        document["meta"] = {"page": {"cursor": record.id}}
    return document


def single(record: Any, self_link: Optional[str] = None, status: int = 200) -> Response:
    """A single-resource document; `self_link` defaults to the resource's canonical path."""
    link = self_link or f"{record.PATH}/{record.id}"
    return Response(status, {"data": resource(record), "links": {"self": link}})


# --------------------------------------------------------------------------------------------
# Synapse's MAS API
# --------------------------------------------------------------------------------------------


class Homeserver:
    """Synapse's ``/_synapse/mas/`` endpoints, called with the shared secret; with no URL,
    nothing is called (every localpart is available)."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.base = base_url.rstrip("/")
        self.secret = secret
        # No proxy: Synapse is on loopback.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.secret}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=60) as reply:
                payload = reply.read()
                status = reply.status
        except urllib.error.HTTPError as e:
            payload = e.read()
            status = e.code
        except (urllib.error.URLError, OSError) as e:
            raise HomeserverError(f"{method} {path}: {e}") from e
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return status, parsed

    def _expect_ok(self, method: str, path: str, body: Optional[dict] = None) -> None:
        if not self.base:
            return
        status, reply = self._call(method, path, body)
        if not 200 <= status < 300:
            raise HomeserverError(f"{method} {path}: {status} {reply}")

    def is_localpart_available(self, localpart: str) -> bool:
        if not self.base:
            return True
        query = urllib.parse.urlencode({"localpart": localpart})
        status, reply = self._call("GET", f"/_synapse/mas/is_localpart_available?{query}")
        if 200 <= status < 300:
            return True
        if status == 400:  # taken, invalid or reserved by an application service
            return False
        raise HomeserverError(f"is_localpart_available: {status} {reply}")

    def provision_user(self, body: dict) -> None:
        self._expect_ok("POST", "/_synapse/mas/provision_user", body)

    def upsert_device(self, localpart: str, device_id: str, display_name: Optional[str]) -> None:
        body = {"localpart": localpart, "device_id": device_id}
        if display_name is not None:
            body["display_name"] = display_name
        self._expect_ok("POST", "/_synapse/mas/upsert_device", body)

    def delete_device(self, localpart: str, device_id: str) -> None:
        self._expect_ok(
            "POST", "/_synapse/mas/delete_device", {"localpart": localpart, "device_id": device_id}
        )

    def delete_user(self, localpart: str, erase: bool) -> None:
        self._expect_ok("POST", "/_synapse/mas/delete_user", {"localpart": localpart, "erase": erase})

    def reactivate_user(self, localpart: str) -> None:
        self._expect_ok("POST", "/_synapse/mas/reactivate_user", {"localpart": localpart})


# --------------------------------------------------------------------------------------------
# Query parameters: paging and filters
# --------------------------------------------------------------------------------------------

DEFAULT_PAGE_SIZE = 10


@dataclass
class Paging:
    before: Optional[str]
    after: Optional[str]
    forward: bool
    count: int
    include_count: str  # "true" | "false" | "only"


def one(query: dict, name: str) -> Optional[str]:
    values = query.get(name)
    return values[-1] if values else None


def parse_paging(query: dict) -> Paging:
    invalid = ApiError(400, "Invalid pagination parameters")

    def ulid(name: str) -> Optional[str]:
        value = one(query, name)
        if value is not None and not ULID_RE.match(value):
            raise invalid
        return value

    def positive(name: str) -> Optional[int]:
        value = one(query, name)
        if value is None:
            return None
        if not value.isdigit() or int(value) < 1:
            raise invalid
        return int(value)

    before, after = ulid("page[before]"), ulid("page[after]")
    first, last = positive("page[first]"), positive("page[last]")
    include_count = one(query, "count") or "true"
    if include_count not in ("true", "false", "only"):
        raise invalid
    if first is not None and last is not None:
        raise ApiError(400, "Cannot specify both `page[first]` and `page[last]` parameters")
    if last is not None:
        return Paging(before, after, False, last, include_count)
    return Paging(before, after, True, first or DEFAULT_PAGE_SIZE, include_count)


class Filters:
    """Reads one list endpoint's `filter[...]` parameters; anything malformed is the
    specification's 400 "Invalid filter parameters". `link` keeps the recognised ones, in the
    order they were read, for the paging links."""

    def __init__(self, query: dict) -> None:
        self.query = query
        self.link: list[tuple[str, str]] = []

    def _invalid(self) -> ApiError:
        return ApiError(400, "Invalid filter parameters")

    def text(self, name: str) -> Optional[str]:
        value = one(self.query, f"filter[{name}]")
        if value is not None:
            self.link.append((f"filter[{name}]", value))
        return value

    def ulid(self, name: str) -> Optional[str]:
        value = self.text(name)
        if value is not None and not ULID_RE.match(value):
            raise self._invalid()
        return value

    def ulids(self, name: str) -> list[str]:
        values = self.query.get(f"filter[{name}]", [])
        for value in values:
            if not ULID_RE.match(value):
                raise self._invalid()
            self.link.append((f"filter[{name}]", value))
        return values

    def texts(self, name: str) -> list[str]:
        values = self.query.get(f"filter[{name}]", [])
        self.link.extend((f"filter[{name}]", v) for v in values)
        return values

    def boolean(self, name: str) -> Optional[bool]:
        value = self.text(name)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise self._invalid()
        return value == "true"

    def choice(self, name: str, allowed: tuple) -> Optional[str]:
        value = self.text(name)
        if value is not None and value not in allowed:
            raise self._invalid()
        return value

    def moment(self, name: str) -> Optional[datetime]:
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_rfc3339(value)
        except ValueError:
            raise self._invalid() from None

    def base(self, path: str, include_count: str) -> str:
        """The list's base link: its path, the filters, and `count` unless it is the default."""
        pairs = list(self.link)
        if include_count != "true":
            pairs.append(("count", include_count))
        return path + ("?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "")


def page_link(base: str, before: Optional[str], after: Optional[str], forward: bool, count: int) -> str:
    path, _, query = base.partition("?")
    if before:
        query += f"&page[before]={before}"
    if after:
        query += f"&page[after]={after}"
    query += f"&page[first]={count}" if forward else f"&page[last]={count}"
    return f"{path}?{query.lstrip('&')}"


def paginated(records: list, paging: Paging, base: str) -> Response:
    """A page of `records` (already filtered) in ID order, with the specification's
    `meta.count`, per-item cursors and `self`/`first`/`last`/`next`/`prev` links."""
    if paging.include_count == "only":
        return Response(200, {"meta": {"count": len(records)}, "links": {"self": base}})
    ordered = sorted(records, key=lambda r: r.id)
    if paging.after:
        ordered = [r for r in ordered if r.id > paging.after]
    if paging.before:
        ordered = [r for r in ordered if r.id < paging.before]
    has_next = has_previous = False
    if paging.forward:
        page = ordered[: paging.count + 1]
        if len(page) > paging.count:
            has_next = True
            page = page[: paging.count]
    else:
        page = ordered[-(paging.count + 1):] if ordered else []
        if len(page) > paging.count:
            has_previous = True
            page = page[1:]
    links = {
        "self": page_link(base, paging.before, paging.after, paging.forward, paging.count),
        "first": page_link(base, None, None, True, paging.count),
        "last": page_link(base, None, None, False, paging.count),
    }
    if has_next:
        links["next"] = page_link(base, None, page[-1].id, paging.forward, paging.count)
    if has_previous:
        links["prev"] = page_link(base, page[0].id, None, paging.forward, paging.count)
    document: dict = {}
    if paging.include_count == "true":
        document["meta"] = {"count": len(records)}
    document["data"] = [resource(r, paged=True) for r in page]
    document["links"] = links
    return Response(200, document)


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------

USERNAME_CHARS = set(string.ascii_lowercase + string.digits + "=_-./+")


def username_valid(username: Any) -> bool:
    return (
        isinstance(username, str)
        and 0 < len(username) <= 255
        and not username.startswith("_")
        and all(c in USERNAME_CHARS for c in username)
    )


def email_problem(email: str) -> Optional[str]:
    """Why an address is not valid (the second error title MAS gives), or None."""
    local, at, domain = email.partition("@")
    if not at or not local or not domain:
        return "Missing domain or user"
    if any(c.isspace() for c in email) or "@" in domain:
        return "Invalid input"
    return None


@dataclass
class FailRule:
    method: str
    path_prefix: str
    status: int
    title: str
    count: int


class Standin:
    """All state, behind one lock. Calls to Synapse are made without holding it."""

    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.lock = threading.Lock()
        self.server_name = args.server_name
        self.secret = args.secret
        self.issuer = f"http://127.0.0.1:{port}/"
        self.token_ttl = timedelta(seconds=args.token_ttl)
        self.min_complexity = args.min_password_complexity
        self.homeserver = Homeserver(args.synapse_url, args.secret)
        self.users: dict[str, User] = {}
        self.compat_sessions: dict[str, CompatSession] = {}
        self.oauth2_sessions: dict[str, OAuth2Session] = {}
        self.user_sessions: dict[str, UserSession] = {}
        self.emails: dict[str, UserEmail] = {}
        self.links: dict[str, UpstreamLink] = {}
        self.registration_tokens: dict[str, RegistrationToken] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.requests: list[dict] = []
        self.fail_rules: list[FailRule] = []
        self.admin_client_id = args.client_id
        self.clients: dict[str, OAuth2Client] = {}
        self.clients[args.client_id] = OAuth2Client(
            id=args.client_id,
            client_name="Syndic (admin API client)",
            redirect_uris=[],
            grant_types=["client_credentials"],
            is_static=True,
            secret=args.client_secret,
        )
        element_x = OAuth2Client(
            id=ULIDS.new(),
            client_name="Element X",
            client_uri="https://element.io/",
            redirect_uris=["io.element.app:/callback"],
            grant_types=["authorization_code", "refresh_token"],
            is_static=False,
        )
        self.clients[element_x.id] = element_x
        self.element_x_id = element_x.id
        provider = UpstreamProvider(
            id=ULIDS.new(),
            issuer="https://idp.example.org/",
            human_name="Example IdP",
            brand_name=None,
            created_at=now(),
        )
        self.providers = {provider.id: provider}
        self.provider_id = provider.id

    # ---- lookups (call with the lock held) ----------------------------------------------

    def user(self, user_id: str) -> User:
        found = self.users.get(user_id)
        if found is None:
            raise ApiError(404, f"User ID {user_id} not found")
        return found

    def user_by_username(self, username: str) -> Optional[User]:
        return next((u for u in self.users.values() if u.username == username), None)

    def mxid(self, user: User) -> str:
        return f"@{user.username}:{self.server_name}"

    def emails_of(self, user: User) -> list[str]:
        return [e.email for e in sorted(self.emails.values(), key=lambda e: e.id) if e.user_id == user.id]

    def provision_body(self, user: User) -> dict:
        """The whole state MAS pushes for a user (ProvisionUserJob)."""
        body = {"localpart": user.username, "set_emails": self.emails_of(user), "locked": user.locked_at is not None}
        if user.displayname is not None:
            body["set_displayname"] = user.displayname
        if user.avatar_url is not None:
            body["set_avatar_url"] = user.avatar_url
        return body

    def password_strong_enough(self, password: str) -> bool:
        if self.min_complexity <= 0:
            return True
        import zxcvbn  # only needed with a minimum: keeps the no-Synapse mode stdlib-only

        return zxcvbn.zxcvbn(password)["score"] >= self.min_complexity

    # ---- shared operations ---------------------------------------------------------------

    def create_user(self, body: dict, skip_check: bool) -> User:
        """`POST /users`: checks, the homeserver's opinion, the record, provisioning."""
        username = body.get("username")
        with self.lock:
            if isinstance(username, str) and self.user_by_username(username):
                raise ApiError(409, "User already exists")
            if not username_valid(username):
                raise ApiError(400, "Username is not valid")
        try:
            available = self.homeserver.is_localpart_available(username)
        except HomeserverError as e:
            raise ApiError(500, str(e)) from None
        if not available and not skip_check:
            raise ApiError(409, "Username is reserved by the homeserver")
        with self.lock:
            if self.user_by_username(username):
                raise ApiError(409, "User already exists")
            user = User(id=ULIDS.new(), username=username, created_at=now())
            user.displayname = body.get("displayname")
            user.avatar_url = body.get("avatar_url")
            self.users[user.id] = user
            provision = self.provision_body(user)
        self.push(lambda: self.homeserver.provision_user(provision))
        return user

    def push(self, call: Callable[[], None]) -> None:
        """Runs a call to Synapse; its failure is the admin API's 500."""
        try:
            call()
        except HomeserverError as e:
            raise ApiError(500, f"Homeserver error: {e}") from None

    def new_compat_session(
        self,
        user: User,
        device_id: Optional[str],
        admin: bool,
        human_name: Optional[str] = None,
        user_agent: Optional[str] = None,
    ) -> tuple[CompatSession, str, list[str]]:
        """A compat session and its token (lock held). Sessions already on that device are
        finished (their device IDs are returned; the device itself is reused)."""
        device = device_id or random_string(10)
        replaced = self.finish_sessions_on_device(user, device)
        session = CompatSession(
            id=ULIDS.new(),
            user_id=user.id,
            device_id=device,
            created_at=now(),
            is_synapse_admin=admin,
            human_name=human_name,
            user_agent=user_agent,
        )
        token = new_token("mct")
        return session, token, replaced

    def finish_sessions_on_device(self, user: User, device: str) -> list[str]:
        finished = []
        for s in self.compat_sessions.values():
            if s.user_id == user.id and s.finished_at is None and s.device_id == device:
                s.finished_at = now()
                finished.append(s.id)
        for s in self.oauth2_sessions.values():
            if s.user_id == user.id and s.finished_at is None and s.device_id() == device:
                s.finished_at = now()
                finished.append(s.id)
        return finished

    def commit_compat_session(self, session: CompatSession, token: str) -> None:
        with self.lock:
            self.compat_sessions[session.id] = session
            self.tokens[token] = AccessToken("compat", session.id, session.created_at, None)

    def introspect(self, token: str, ip: str) -> dict:
        inactive = {"active": False}
        prefix = token_prefix(token)
        with self.lock:
            record = self.tokens.get(token)
            if record is None or prefix not in ("mat", "mct"):
                return inactive
            moment = now()
            if record.expires_at is not None and record.expires_at <= moment:
                return inactive
            if record.kind == "compat":
                session = self.compat_sessions.get(record.session_id)
                if session is None or session.finished_at is not None:
                    return inactive
                user = self.users.get(session.user_id)
                if user is None or not user.is_valid():
                    return inactive
                session.last_active_at, session.last_active_ip = moment, ip
                scope = [API_SCOPE, UNSTABLE_API_SCOPE]
                if session.device_id:
                    scope.append(DEVICE_SCOPE_PREFIX + session.device_id)
                if session.is_synapse_admin:
                    scope.append(SYNAPSE_ADMIN_SCOPE)
                answer = {
                    "active": True,
                    "scope": " ".join(scope),
                    "client_id": "legacy",
                    "username": user.username,
                    "token_type": "access_token",
                    "iat": int(record.created_at.timestamp()),
                    "nbf": int(record.created_at.timestamp()),
                    "sub": user.id,
                }
                if session.device_id:
                    answer["device_id"] = session.device_id
                return answer
            session = self.oauth2_sessions.get(record.session_id)
            if session is None or session.finished_at is not None:
                return inactive
            answer = {
                "active": True,
                "scope": session.scope,
                "client_id": session.client_id,
                "token_type": "access_token",
                "iat": int(record.created_at.timestamp()),
                "nbf": int(record.created_at.timestamp()),
                "jti": record.session_id,
            }
            if record.expires_at is not None:
                answer["exp"] = int(record.expires_at.timestamp())
                answer["expires_in"] = max(0, int((record.expires_at - moment).total_seconds()))
            if session.user_id is not None:
                user = self.users.get(session.user_id)
                if user is None or not user.is_valid():
                    return inactive
                answer["sub"] = user.id
                answer["username"] = user.username
            session.last_active_at, session.last_active_ip = moment, ip
            return answer


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    raw_query: str
    query: dict
    headers: Any
    body: bytes
    client_ip: str
    params: dict = field(default_factory=dict)

    def json_body(self, optional: bool = False) -> Optional[dict]:
        """The body as a JSON object, refused the way MAS's (axum's) JSON extractor refuses."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if optional and not content_type:
            return None
        if not (content_type == "application/json" or content_type.endswith("+json")):
            raise BodyError(415, "Expected request with `Content-Type: application/json`")
        try:
            value = json.loads(self.body or b"")
        except ValueError as e:
            raise BodyError(400, f"Failed to parse the request body as JSON: {e}") from None
        if not isinstance(value, dict):
            raise BodyError(422, "Failed to deserialize the JSON body into the target type: expected a JSON object")
        return value

    def form(self) -> dict:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.body.decode(errors="replace"), keep_blank_values=True).items()}

    def bearer(self) -> Optional[str]:
        header = self.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""


def field_error(name: str, expected: str) -> BodyError:
    return BodyError(422, f"Failed to deserialize the JSON body into the target type: {name}: invalid type, expected {expected}")


def get_field(body: dict, name: str, kind: type, required: bool = False, nullable: bool = True) -> Any:
    """A typed field of a JSON body (bool is not int here, as in serde)."""
    if name not in body:
        if required:
            raise BodyError(422, f"Failed to deserialize the JSON body into the target type: missing field `{name}`")
        return None
    value = body[name]
    if value is None and nullable and not required:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise field_error(name, "u32")
    if kind is not int and not isinstance(value, kind):
        raise field_error(name, kind.__name__)
    return value


Route = tuple[str, "re.Pattern[str]", Callable[["Standin", Request], Response], str]
ROUTES: list[Route] = []


def route(method: str, pattern: str, area: str):
    """Registers a handler. `area`: "admin" (token, request log, failure injection),
    "control" (loopback test API) or "public"."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(handler):
        ROUTES.append((method, regex, handler, area))
        return handler

    return register


def path_ulid(request: Request) -> str:
    value = request.params["id"]
    if not ULID_RE.match(value):
        raise ApiError(400, "Invalid ULID in path")
    return value


# --------------------------------------------------------------------------------------------
# Discovery, OAuth 2.0, compat login
# --------------------------------------------------------------------------------------------


@route("GET", "/.well-known/openid-configuration", "public")
def discovery(mas: Standin, request: Request) -> Response:
    base = mas.issuer
    return Response(
        200,
        {
            "issuer": base,
            "authorization_endpoint": f"{base}authorize",
            "token_endpoint": f"{base}oauth2/token",
            "jwks_uri": f"{base}oauth2/keys.json",
            "registration_endpoint": f"{base}oauth2/registration",
            "scopes_supported": ["openid", "email"],
            "response_types_supported": ["code", "id_token", "code id_token"],
            "response_modes_supported": ["form_post", "query", "fragment"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ],
            "revocation_endpoint": f"{base}oauth2/revoke",
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint": f"{base}oauth2/introspect",
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "userinfo_endpoint": f"{base}oauth2/userinfo",
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce", "auth_time", "at_hash", "c_hash"],
            "claim_types_supported": ["normal"],
            "prompt_values_supported": ["none", "login", "create"],
            "device_authorization_endpoint": f"{base}oauth2/device",
            "account_management_uri": f"{base}account/",
            "account_management_actions_supported": [
                "org.matrix.profile",
                "org.matrix.sessions_list",
                "org.matrix.session_view",
                "org.matrix.session_end",
                "org.matrix.cross_signing_reset",
            ],
        },
    )


@route("GET", "/health", "public")
def health(mas: Standin, request: Request) -> Response:
    return Response(200, text="ok")


@route("POST", "/oauth2/introspect", "public")
def introspection(mas: Standin, request: Request) -> Response:
    token = request.bearer()
    if not token or not hmac.compare_digest(token.encode(), mas.secret.encode()):
        raise OAuthError(401, "invalid_client")
    form = request.form()
    if "token" not in form:
        raise OAuthError(400, "invalid_request")
    return Response(200, mas.introspect(form["token"], request.client_ip))


def client_credentials(request: Request, form: dict) -> tuple[Optional[str], Optional[str]]:
    """client_secret_basic (form-encoded ID and secret in HTTP Basic), else client_secret_post."""
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client") from None
        client_id, _, secret = decoded.partition(":")
        return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
    return form.get("client_id"), form.get("client_secret")


@route("POST", "/oauth2/token", "public")
def token_endpoint(mas: Standin, request: Request) -> Response:
    form = request.form()
    client_id, secret = client_credentials(request, form)
    client = mas.clients.get(client_id or "")
    if client is None or client.secret is None or secret is None:
        raise OAuthError(401, "invalid_client")
    if not hmac.compare_digest(secret.encode(), client.secret.encode()):
        raise OAuthError(401, "invalid_client")
    if form.get("grant_type") != "client_credentials":
        if form.get("grant_type") in ("authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"):
            raise OAuthError(401, "unauthorized_client")
        raise OAuthError(400, "unsupported_grant_type")
    if "client_credentials" not in client.grant_types:
        raise OAuthError(401, "unauthorized_client")
    scope = [s for s in (form.get("scope") or "").split(" ") if s]
    refused = [s for s in scope if s not in (MAS_ADMIN_SCOPE, "urn:mas:graphql:*")]
    if refused:
        # MAS's policy: a client-credentials client may ask for the admin scopes only.
        raise OAuthError(403, "invalid_scope", f"scope {refused[0]!r} is not allowed for the client_credentials grant")
    moment = now()
    with mas.lock:
        session = OAuth2Session(
            id=ULIDS.new(), client_id=client.id, scope=" ".join(scope), created_at=moment
        )
        mas.oauth2_sessions[session.id] = session
        token = new_token("mat")
        mas.tokens[token] = AccessToken("oauth2", session.id, moment, moment + mas.token_ttl)
    answer = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(mas.token_ttl.total_seconds()),
    }
    if scope:
        answer["scope"] = " ".join(scope)
    return Response(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})


@route("GET", "/_matrix/client/v3/login", "public")
@route("GET", "/_matrix/client/r0/login", "public")
def login_flows(mas: Standin, request: Request) -> Response:
    return Response(200, {"flows": [{"type": "m.login.password"}]})


@route("POST", "/_matrix/client/v3/login", "public")
@route("POST", "/_matrix/client/r0/login", "public")
def login(mas: Standin, request: Request) -> Response:
    try:
        body = json.loads(request.body or b"")
    except ValueError:
        raise MatrixError(400, "M_NOT_JSON", "Body is not valid JSON") from None
    if not isinstance(body, dict):
        raise MatrixError(400, "M_BAD_JSON", "Body is not a JSON object")
    if body.get("type") != "m.login.password" or not isinstance(body.get("password"), str):
        raise MatrixError(400, "M_UNKNOWN", "Invalid login type")
    # The deprecated top-level `user` wins over `identifier`, as in Synapse and MAS.
    who = body.get("user")
    if not isinstance(who, str):
        identifier = body.get("identifier")
        if identifier is None:
            raise MatrixError(400, "M_BAD_JSON", "Missing property 'identifier")
        if not isinstance(identifier, dict) or identifier.get("type") != "m.id.user" or not isinstance(identifier.get("user"), str):
            raise MatrixError(400, "M_UNKNOWN", "Unsupported login identifier")
        who = identifier["user"]
    suffix = f":{mas.server_name}"
    username = who[1: -len(suffix)] if who.startswith("@") and who.endswith(suffix) else who
    device_id = body.get("device_id") if isinstance(body.get("device_id"), str) else None
    display_name = body.get("initial_device_display_name")
    display_name = display_name if isinstance(display_name, str) else None
    wrong = MatrixError(403, "M_FORBIDDEN", "Invalid username/password")
    with mas.lock:
        user = mas.user_by_username(username)
        if user is None or user.deactivated_at is not None:
            raise wrong
        if user.locked_at is not None:
            raise MatrixError(401, "M_USER_LOCKED", "User account has been locked")
        if not user.password_matches(body["password"]):
            raise wrong
        session, token, _ = mas.new_compat_session(
            user, device_id, False, display_name, request.headers.get("User-Agent")
        )
    try:
        mas.homeserver.upsert_device(user.username, session.device_id, display_name)
    except HomeserverError:
        raise MatrixError(500, "M_UNKNOWN", "Internal server error") from None
    mas.commit_compat_session(session, token)
    return Response(
        200, {"access_token": token, "device_id": session.device_id, "user_id": mas.mxid(user)}
    )


# --------------------------------------------------------------------------------------------
# Admin API: site, users
# --------------------------------------------------------------------------------------------


@route("GET", f"{API}/version", "admin")
def version(mas: Standin, request: Request) -> Response:
    return Response(200, {"version": "1.0.0-standin"})


@route("GET", f"{API}/site-config", "admin")
def site_config(mas: Standin, request: Request) -> Response:
    return Response(
        200,
        {
            "server_name": mas.server_name,
            "password_login_enabled": True,
            "password_registration_enabled": False,
            "password_registration_email_required": False,
            "password_registration_token_required": False,
            "registration_token_required": False,
            "email_change_allowed": True,
            "displayname_change_allowed": True,
            "password_change_allowed": True,
            "account_recovery_allowed": False,
            "account_deactivation_allowed": True,
            "captcha_enabled": False,
            "minimum_password_complexity": mas.min_complexity,
        },
    )


@route("GET", f"{API}/users", "admin")
def list_users(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    admin = f.boolean("admin")
    legacy_guest = f.boolean("legacy-guest")
    search = f.text("search")
    status = f.choice("status", ("active", "locked", "deactivated"))
    active_clients = f.ulids("active-oauth2-client")
    has_oauth2 = f.boolean("has-active-oauth2-session")
    has_compat = f.boolean("has-active-compat-session")
    with mas.lock:
        for client_id in active_clients:
            if client_id not in mas.clients:
                raise ApiError(404, f"Client ID {client_id} not found")

        def oauth2_sessions(user: User, clients: list) -> bool:
            return any(
                s.user_id == user.id and s.finished_at is None and (not clients or s.client_id in clients)
                for s in mas.oauth2_sessions.values()
            )

        def keep(user: User) -> bool:
            if admin is not None and user.admin != admin:
                return False
            if legacy_guest is not None and user.legacy_guest != legacy_guest:
                return False
            if search is not None and search.lower() not in user.username.lower():
                return False
            if status == "active" and not user.is_valid():
                return False
            if status == "locked" and user.locked_at is None:
                return False
            if status == "deactivated" and user.deactivated_at is None:
                return False
            if active_clients and not oauth2_sessions(user, active_clients):
                return False
            if has_oauth2 is not None and oauth2_sessions(user, []) != has_oauth2:
                return False
            if has_compat is not None:
                has = any(s.user_id == user.id and s.finished_at is None for s in mas.compat_sessions.values())
                if has != has_compat:
                    return False
            return True

        return paginated([u for u in mas.users.values() if keep(u)], paging, f.base(User.PATH, paging.include_count))


@route("POST", f"{API}/users", "admin")
def add_user(mas: Standin, request: Request) -> Response:
    body = request.json_body()
    get_field(body, "username", str, required=True)
    skip = bool(get_field(body, "skip_homeserver_check", bool, nullable=False))
    get_field(body, "displayname", str)
    get_field(body, "avatar_url", str)
    user = mas.create_user(body, skip)
    with mas.lock:
        return single(user, status=201)


@route("GET", f"{API}/users/by-username/{{username}}", "admin")
def user_by_username(mas: Standin, request: Request) -> Response:
    username = urllib.parse.unquote(request.params["username"])
    with mas.lock:
        user = mas.user_by_username(username)
        if user is None:
            raise ApiError(404, f"User with username {rust_debug(username)} not found")
        return single(user, f"{User.PATH}/by-username/{request.params['username']}")


@route("GET", f"{API}/users/{{id}}", "admin")
def get_user(mas: Standin, request: Request) -> Response:
    with mas.lock:
        return single(mas.user(path_ulid(request)))


@route("POST", f"{API}/users/{{id}}/set-password", "admin")
def set_password(mas: Standin, request: Request) -> Response:
    user_id = path_ulid(request)
    body = request.json_body()
    password = get_field(body, "password", str, required=True)
    skip = get_field(body, "skip_password_check", bool)
    with mas.lock:
        user = mas.user(user_id)
    if not skip and not mas.password_strong_enough(password):
        raise ApiError(400, "Password is too weak")
    with mas.lock:
        user.set_password(password)
    return Response(204)


@route("POST", f"{API}/users/{{id}}/set-admin", "admin")
def set_admin(mas: Standin, request: Request) -> Response:
    user_id = path_ulid(request)
    body = request.json_body()
    admin = get_field(body, "admin", bool, required=True)
    with mas.lock:
        user = mas.user(user_id)
        user.admin = admin
        return single(user, f"{User.PATH}/{user_id}/set-admin")


def set_locked(mas: Standin, request: Request, locked: bool) -> Response:
    user_id = path_ulid(request)
    with mas.lock:
        user = mas.user(user_id)
        if locked and user.locked_at is None:
            user.locked_at = now()
        if not locked:
            user.locked_at = None
        provision = mas.provision_body(user)
    mas.push(lambda: mas.homeserver.provision_user(provision))
    with mas.lock:
        return single(user, f"{User.PATH}/{user_id}/{'lock' if locked else 'unlock'}")


@route("POST", f"{API}/users/{{id}}/lock", "admin")
def lock_user(mas: Standin, request: Request) -> Response:
    return set_locked(mas, request, True)


@route("POST", f"{API}/users/{{id}}/unlock", "admin")
def unlock_user(mas: Standin, request: Request) -> Response:
    return set_locked(mas, request, False)


@route("POST", f"{API}/users/{{id}}/deactivate", "admin")
def deactivate_user(mas: Standin, request: Request) -> Response:
    """MAS marks the user deactivated (not locked), then its job finishes every session,
    removes the e-mails and asks Synapse to deactivate (and erase, unless `skip_erase`)."""
    user_id = path_ulid(request)
    body = request.json_body(optional=True) or {}
    skip_erase = bool(get_field(body, "skip_erase", bool, nullable=False))
    with mas.lock:
        user = mas.user(user_id)
        moment = now()
        if user.deactivated_at is None:
            user.deactivated_at = moment
        devices = []
        for s in mas.user_sessions.values():
            if s.user_id == user.id and s.finished_at is None:
                s.finished_at = moment
        for s in mas.oauth2_sessions.values():
            if s.user_id == user.id and s.finished_at is None:
                s.finished_at = moment
                if s.device_id():
                    devices.append(s.device_id())
        for s in mas.compat_sessions.values():
            if s.user_id == user.id and s.finished_at is None:
                s.finished_at = moment
                if s.device_id:
                    devices.append(s.device_id)
        for email_id in [e.id for e in mas.emails.values() if e.user_id == user.id]:
            del mas.emails[email_id]
        answer = single(user, f"{User.PATH}/{user_id}/deactivate")
    for device in devices:
        mas.push(lambda d=device: mas.homeserver.delete_device(user.username, d))
    mas.push(lambda: mas.homeserver.delete_user(user.username, not skip_erase))
    return answer


@route("POST", f"{API}/users/{{id}}/reactivate", "admin")
def reactivate_user(mas: Standin, request: Request) -> Response:
    """Synapse first, then MAS; a locked user stays locked."""
    user_id = path_ulid(request)
    with mas.lock:
        user = mas.user(user_id)
    mas.push(lambda: mas.homeserver.reactivate_user(user.username))
    with mas.lock:
        user.deactivated_at = None
        return single(user, f"{User.PATH}/{user_id}/reactivate")


# --------------------------------------------------------------------------------------------
# Admin API: sessions
# --------------------------------------------------------------------------------------------


def session_filters(mas: Standin, f: Filters, with_user_session: bool = True) -> Callable[[Any], bool]:
    """The filters the three session lists share: user, browser session, status, dates."""
    user_id = f.ulid("user")
    user_session_id = f.ulid("user-session") if with_user_session else None
    status = f.choice("status", ("active", "finished"))
    created_before = f.moment("created-before")
    created_after = f.moment("created-after")
    active_before = f.moment("last-active-before")
    active_after = f.moment("last-active-after")
    if user_id is not None:
        mas.user(user_id)
    if user_session_id is not None and user_session_id not in mas.user_sessions:
        raise ApiError(404, f"User session ID {user_session_id} not found")

    def keep(s: Any) -> bool:
        if user_id is not None and s.user_id != user_id:
            return False
        if user_session_id is not None and s.user_session_id != user_session_id:
            return False
        if status == "active" and s.finished_at is not None:
            return False
        if status == "finished" and s.finished_at is None:
            return False
        if created_before is not None and not s.created_at < created_before:
            return False
        if created_after is not None and not s.created_at > created_after:
            return False
        if active_before is not None and not (s.last_active_at and s.last_active_at < active_before):
            return False
        if active_after is not None and not (s.last_active_at and s.last_active_at > active_after):
            return False
        return True

    return keep


@route("GET", f"{API}/compat-sessions", "admin")
def list_compat_sessions(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    with mas.lock:
        keep = session_filters(mas, f)
        records = [s for s in mas.compat_sessions.values() if keep(s)]
        return paginated(records, paging, f.base(CompatSession.PATH, paging.include_count))


@route("GET", f"{API}/compat-sessions/{{id}}", "admin")
def get_compat_session(mas: Standin, request: Request) -> Response:
    session_id = path_ulid(request)
    with mas.lock:
        session = mas.compat_sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"Compatibility session ID {session_id} not found")
        return single(session)


@route("POST", f"{API}/compat-sessions/{{id}}/finish", "admin")
def finish_compat_session(mas: Standin, request: Request) -> Response:
    session_id = path_ulid(request)
    with mas.lock:
        session = mas.compat_sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"Compatibility session with ID {session_id} not found")
        if session.finished_at is not None:
            raise ApiError(400, f"Compatibility session with ID {session_id} is already finished")
        session.finished_at = now()
        username = mas.users[session.user_id].username
        answer = single(session, f"{CompatSession.PATH}/{session_id}/finish")
    if session.device_id:
        mas.push(lambda: mas.homeserver.delete_device(username, session.device_id))
    return answer


@route("GET", f"{API}/oauth2-sessions", "admin")
def list_oauth2_sessions(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    clients = f.ulids("client")
    client_kind = f.choice("client-kind", ("dynamic", "static"))
    scopes = f.texts("scope")
    for scope in scopes:
        if not scope or any(c.isspace() or c in '"\\' for c in scope):
            raise ApiError(400, f"Invalid scope {rust_debug(scope)} in filter parameters")
    with mas.lock:
        keep_common = session_filters(mas, f)
        for client_id in clients:
            if client_id not in mas.clients:
                raise ApiError(404, f"Client ID {client_id} not found")

        def keep(s: OAuth2Session) -> bool:
            if not keep_common(s):
                return False
            if clients and s.client_id not in clients:
                return False
            client = mas.clients.get(s.client_id)
            if client_kind is not None and (client is None or client.is_static != (client_kind == "static")):
                return False
            granted = set(s.scope.split())
            return all(scope in granted for scope in scopes)

        records = [s for s in mas.oauth2_sessions.values() if keep(s)]
        return paginated(records, paging, f.base(OAuth2Session.PATH, paging.include_count))


@route("GET", f"{API}/oauth2-sessions/{{id}}", "admin")
def get_oauth2_session(mas: Standin, request: Request) -> Response:
    session_id = path_ulid(request)
    with mas.lock:
        session = mas.oauth2_sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"OAuth 2.0 session ID {session_id} not found")
        return single(session)


@route("POST", f"{API}/oauth2-sessions/{{id}}/finish", "admin")
def finish_oauth2_session(mas: Standin, request: Request) -> Response:
    session_id = path_ulid(request)
    with mas.lock:
        session = mas.oauth2_sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"OAuth 2.0 session with ID {session_id} not found")
        if session.finished_at is not None:
            raise ApiError(400, f"OAuth 2.0 session with ID {session_id} is already finished")
        session.finished_at = now()
        user = mas.users.get(session.user_id) if session.user_id else None
        answer = single(session, f"{OAuth2Session.PATH}/{session_id}/finish")
    device = session.device_id()
    if user is not None and device:
        mas.push(lambda: mas.homeserver.delete_device(user.username, device))
    return answer


@route("GET", f"{API}/user-sessions", "admin")
def list_user_sessions(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    with mas.lock:
        keep = session_filters(mas, f, with_user_session=False)
        records = [s for s in mas.user_sessions.values() if keep(s)]
        return paginated(records, paging, f.base(UserSession.PATH, paging.include_count))


@route("GET", f"{API}/user-sessions/{{id}}", "admin")
def get_user_session(mas: Standin, request: Request) -> Response:
    session_id = path_ulid(request)
    with mas.lock:
        session = mas.user_sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"User session ID {session_id} not found")
        return single(session)


@route("POST", f"{API}/user-sessions/{{id}}/finish", "admin")
def finish_user_session(mas: Standin, request: Request) -> Response:
    session_id = path_ulid(request)
    with mas.lock:
        session = mas.user_sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"User session with ID {session_id} not found")
        if session.finished_at is not None:
            raise ApiError(400, f"User session with ID {session_id} is already finished")
        session.finished_at = now()
        return single(session, f"{UserSession.PATH}/{session_id}/finish")


# --------------------------------------------------------------------------------------------
# Admin API: clients, e-mails, upstream links and providers
# --------------------------------------------------------------------------------------------


@route("GET", f"{API}/oauth2-clients", "admin")
def list_clients(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    kind = f.choice("client-kind", ("dynamic", "static"))
    name = f.text("client-name")
    uri = f.text("client-uri")
    grant = f.text("grant-type")
    has_sessions = f.boolean("has-active-sessions")
    with mas.lock:

        def keep(c: OAuth2Client) -> bool:
            if kind is not None and c.is_static != (kind == "static"):
                return False
            if name is not None and name.lower() not in (c.client_name or "").lower():
                return False
            if uri is not None and uri.lower() not in (c.client_uri or "").lower():
                return False
            if grant is not None and grant not in c.grant_types:
                return False
            if has_sessions is not None:
                active = any(s.client_id == c.id and s.finished_at is None for s in mas.oauth2_sessions.values())
                if active != has_sessions:
                    return False
            return True

        records = [c for c in mas.clients.values() if keep(c)]
        return paginated(records, paging, f.base(OAuth2Client.PATH, paging.include_count))


@route("GET", f"{API}/oauth2-clients/{{id}}", "admin")
def get_client(mas: Standin, request: Request) -> Response:
    client_id = request.params["id"]
    with mas.lock:
        client = mas.clients.get(client_id)
        if client is None:
            if not ULID_RE.match(client_id):
                raise ApiError(400, "Invalid ULID in path")
            raise ApiError(404, f"OAuth 2.0 client ID {client_id} not found")
        return single(client)


@route("GET", f"{API}/user-emails", "admin")
def list_emails(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    user_id = f.ulid("user")
    email = f.text("email")
    with mas.lock:
        if user_id is not None:
            mas.user(user_id)
        records = [
            e for e in mas.emails.values()
            if (user_id is None or e.user_id == user_id) and (email is None or e.email == email)
        ]
        return paginated(records, paging, f.base(UserEmail.PATH, paging.include_count))


@route("POST", f"{API}/user-emails", "admin")
def add_email(mas: Standin, request: Request) -> Response:
    body = request.json_body()
    user_id = get_field(body, "user_id", str, required=True)
    email = get_field(body, "email", str, required=True)
    if not ULID_RE.match(user_id):
        raise field_error("user_id", "a ULID")
    with mas.lock:
        user = mas.user(user_id)
        problem = email_problem(email)
        if problem:
            raise ApiError(400, f"Email {rust_debug(email)} is not valid", problem)
        if any(e.email == email for e in mas.emails.values()):
            raise ApiError(409, f"User email {rust_debug(email)} already in use")
        record = UserEmail(id=ULIDS.new(), user_id=user.id, email=email, created_at=now())
        mas.emails[record.id] = record
        provision = mas.provision_body(user)
        answer = single(record, status=201)
    mas.push(lambda: mas.homeserver.provision_user(provision))
    return answer


@route("GET", f"{API}/user-emails/{{id}}", "admin")
def get_email(mas: Standin, request: Request) -> Response:
    email_id = path_ulid(request)
    with mas.lock:
        record = mas.emails.get(email_id)
        if record is None:
            raise ApiError(404, f"User email ID {email_id} not found")
        return single(record)


@route("DELETE", f"{API}/user-emails/{{id}}", "admin")
def delete_email(mas: Standin, request: Request) -> Response:
    email_id = path_ulid(request)
    with mas.lock:
        record = mas.emails.pop(email_id, None)
        if record is None:
            raise ApiError(404, f"User email ID {email_id} not found")
        provision = mas.provision_body(mas.users[record.user_id])
    mas.push(lambda: mas.homeserver.provision_user(provision))
    return Response(204)


@route("GET", f"{API}/upstream-oauth-links", "admin")
def list_links(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    user_id = f.ulid("user")
    provider_id = f.ulid("provider")
    subject = f.text("subject")
    account = f.text("human-account-name")
    with mas.lock:
        if user_id is not None:
            mas.user(user_id)
        if provider_id is not None and provider_id not in mas.providers:
            raise ApiError(404, f"Provider ID {provider_id} not found")

        def keep(link: UpstreamLink) -> bool:
            return (
                (user_id is None or link.user_id == user_id)
                and (provider_id is None or link.provider_id == provider_id)
                and (subject is None or link.subject == subject)
                and (account is None or account.lower() in (link.human_account_name or "").lower())
            )

        records = [link for link in mas.links.values() if keep(link)]
        return paginated(records, paging, f.base(UpstreamLink.PATH, paging.include_count))


@route("POST", f"{API}/upstream-oauth-links", "admin")
def add_link(mas: Standin, request: Request) -> Response:
    body = request.json_body()
    user_id = get_field(body, "user_id", str, required=True)
    provider_id = get_field(body, "provider_id", str, required=True)
    subject = get_field(body, "subject", str, required=True)
    account = get_field(body, "human_account_name", str)
    with mas.lock:
        user = mas.user(user_id)
        if provider_id not in mas.providers:
            raise ApiError(404, f"Upstream OAuth 2.0 Provider ID {provider_id} not found")
        existing = next(
            (link for link in mas.links.values() if link.provider_id == provider_id and link.subject == subject), None
        )
        if existing is not None:
            if existing.user_id not in (None, user.id):
                raise ApiError(
                    409,
                    f"Upstream Oauth 2.0 Provider ID {provider_id} with subject {subject} is already linked to a user",
                )
            existing.user_id = user.id
            return single(existing)
        link = UpstreamLink(
            id=ULIDS.new(), provider_id=provider_id, subject=subject, created_at=now(),
            user_id=user.id, human_account_name=account,
        )
        mas.links[link.id] = link
        return single(link, status=201)


@route("GET", f"{API}/upstream-oauth-links/{{id}}", "admin")
def get_link(mas: Standin, request: Request) -> Response:
    link_id = path_ulid(request)
    with mas.lock:
        link = mas.links.get(link_id)
        if link is None:
            raise ApiError(404, f"Upstream OAuth 2.0 Link ID {link_id} not found")
        return single(link)


@route("DELETE", f"{API}/upstream-oauth-links/{{id}}", "admin")
def delete_link(mas: Standin, request: Request) -> Response:
    link_id = path_ulid(request)
    with mas.lock:
        if mas.links.pop(link_id, None) is None:
            raise ApiError(404, f"Upstream OAuth 2.0 Link ID {link_id} not found")
    return Response(204)


@route("GET", f"{API}/upstream-oauth-providers", "admin")
def list_providers(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    enabled = f.boolean("enabled")
    with mas.lock:
        records = [p for p in mas.providers.values() if enabled is None or (p.disabled_at is None) == enabled]
        return paginated(records, paging, f.base(UpstreamProvider.PATH, paging.include_count))


@route("GET", f"{API}/upstream-oauth-providers/{{id}}", "admin")
def get_provider(mas: Standin, request: Request) -> Response:
    provider_id = path_ulid(request)
    with mas.lock:
        provider = mas.providers.get(provider_id)
        if provider is None:
            raise ApiError(404, "Provider not found")
        return single(provider)


# --------------------------------------------------------------------------------------------
# Admin API: registration tokens
# --------------------------------------------------------------------------------------------


def optional_moment(body: dict, name: str) -> Optional[datetime]:
    value = body.get(name)
    if value is None:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise field_error(name, "an RFC 3339 date-time") from None


@route("GET", f"{API}/user-registration-tokens", "admin")
def list_registration_tokens(mas: Standin, request: Request) -> Response:
    paging = parse_paging(request.query)
    f = Filters(request.query)
    used = f.boolean("used")
    revoked = f.boolean("revoked")
    expired = f.boolean("expired")
    valid = f.boolean("valid")
    with mas.lock:

        def keep(t: RegistrationToken) -> bool:
            return (
                (used is None or (t.times_used > 0) == used)
                and (revoked is None or (t.revoked_at is not None) == revoked)
                and (expired is None or t.expired() == expired)
                and (valid is None or t.valid() == valid)
            )

        records = [t for t in mas.registration_tokens.values() if keep(t)]
        return paginated(records, paging, f.base(RegistrationToken.PATH, paging.include_count))


@route("POST", f"{API}/user-registration-tokens", "admin")
def add_registration_token(mas: Standin, request: Request) -> Response:
    body = request.json_body()
    token = get_field(body, "token", str) or random_string(12)
    usage_limit = get_field(body, "usage_limit", int)
    expires_at = optional_moment(body, "expires_at")
    with mas.lock:
        if any(t.token == token for t in mas.registration_tokens.values()):
            raise ApiError(409, "A registration token with the same token already exists")
        record = RegistrationToken(
            id=ULIDS.new(), token=token, created_at=now(), usage_limit=usage_limit, expires_at=expires_at
        )
        mas.registration_tokens[record.id] = record
        return single(record, status=201)


def registration_token(mas: Standin, token_id: str) -> RegistrationToken:
    record = mas.registration_tokens.get(token_id)
    if record is None:
        raise ApiError(404, f"Registration token with ID {token_id} not found")
    return record


@route("GET", f"{API}/user-registration-tokens/{{id}}", "admin")
def get_registration_token(mas: Standin, request: Request) -> Response:
    token_id = path_ulid(request)
    with mas.lock:
        return single(registration_token(mas, token_id))


@route("PUT", f"{API}/user-registration-tokens/{{id}}", "admin")
def update_registration_token(mas: Standin, request: Request) -> Response:
    """A field present (null included) is set; a field left out is unchanged."""
    token_id = path_ulid(request)
    body = request.json_body()
    usage_limit = get_field(body, "usage_limit", int)
    expires_at = optional_moment(body, "expires_at")
    with mas.lock:
        record = registration_token(mas, token_id)
        if "usage_limit" in body:
            record.usage_limit = usage_limit
        if "expires_at" in body:
            record.expires_at = expires_at
        return single(record)


@route("POST", f"{API}/user-registration-tokens/{{id}}/revoke", "admin")
def revoke_registration_token(mas: Standin, request: Request) -> Response:
    token_id = path_ulid(request)
    with mas.lock:
        record = registration_token(mas, token_id)
        if record.revoked_at is not None:
            raise ApiError(400, f"Registration token with ID {token_id} is already revoked")
        record.revoked_at = now()
        return single(record, f"{RegistrationToken.PATH}/{token_id}/revoke")


@route("POST", f"{API}/user-registration-tokens/{{id}}/unrevoke", "admin")
def unrevoke_registration_token(mas: Standin, request: Request) -> Response:
    token_id = path_ulid(request)
    with mas.lock:
        record = registration_token(mas, token_id)
        if record.revoked_at is None:
            raise ApiError(400, f"Registration token with ID {token_id} is not revoked")
        record.revoked_at = None
        return single(record, f"{RegistrationToken.PATH}/{token_id}/unrevoke")


# --------------------------------------------------------------------------------------------
# Test-control API
# --------------------------------------------------------------------------------------------


def control_body(request: Request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "The body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The body is not a JSON object")
    return body


def control_user(mas: Standin, body: dict) -> User:
    """The user named by `username` (lock held)."""
    username = body.get("username")
    user = mas.user_by_username(username) if isinstance(username, str) else None
    if user is None:
        raise ApiError(404, f"User with username {rust_debug(str(username))} not found")
    return user


@route("POST", "/_standin/users", "control")
def control_users(mas: Standin, request: Request) -> Response:
    body = control_body(request)
    user = mas.create_user(body, skip_check=False)
    with mas.lock:
        user.admin = bool(body.get("admin", False))
        if isinstance(body.get("password"), str):
            user.set_password(body["password"])
        return single(user, status=201)


@route("POST", "/_standin/compat-token", "control")
def control_compat_token(mas: Standin, request: Request) -> Response:
    body = control_body(request)
    device_id = body.get("device_id") if isinstance(body.get("device_id"), str) else None
    with mas.lock:
        user = control_user(mas, body)
        session, token, _ = mas.new_compat_session(user, device_id, bool(body.get("admin", False)))
    mas.push(lambda: mas.homeserver.upsert_device(user.username, session.device_id, None))
    mas.commit_compat_session(session, token)
    return Response(
        200,
        {"access_token": token, "device_id": session.device_id, "user_id": mas.mxid(user), "session_id": session.id},
    )


@route("POST", "/_standin/oauth2-session", "control")
def control_oauth2_session(mas: Standin, request: Request) -> Response:
    body = control_body(request)
    device = body.get("device_id") if isinstance(body.get("device_id"), str) else random_string(10)
    client_id = body.get("client_id") or mas.element_x_id
    with mas.lock:
        user = control_user(mas, body)
        if client_id not in mas.clients:
            raise ApiError(404, f"OAuth 2.0 client ID {client_id} not found")
        mas.finish_sessions_on_device(user, device)
        moment = now()
        session = OAuth2Session(
            id=ULIDS.new(),
            client_id=client_id,
            scope=f"openid {API_SCOPE} {DEVICE_SCOPE_PREFIX}{device}",
            created_at=moment,
            user_id=user.id,
            user_agent=body.get("user_agent"),
            last_active_ip=body.get("ip"),
            last_active_at=moment if body.get("ip") else None,
        )
    mas.push(lambda: mas.homeserver.upsert_device(user.username, device, None))
    token = new_token("mat")
    with mas.lock:
        mas.oauth2_sessions[session.id] = session
        mas.tokens[token] = AccessToken("oauth2", session.id, moment, moment + USER_TOKEN_TTL)
    return Response(200, {"id": session.id, "access_token": token, "device_id": device})


@route("POST", "/_standin/user-session", "control")
def control_user_session(mas: Standin, request: Request) -> Response:
    body = control_body(request)
    with mas.lock:
        user = control_user(mas, body)
        moment = now()
        session = UserSession(
            id=ULIDS.new(),
            user_id=user.id,
            created_at=moment,
            user_agent=body.get("user_agent"),
            last_active_ip=body.get("ip"),
            last_active_at=moment if body.get("ip") else None,
        )
        mas.user_sessions[session.id] = session
    return Response(200, {"id": session.id})


@route("POST", "/_standin/upstream-link", "control")
def control_upstream_link(mas: Standin, request: Request) -> Response:
    body = control_body(request)
    if not isinstance(body.get("subject"), str):
        raise ApiError(400, "subject is required")
    with mas.lock:
        user = control_user(mas, body)
        link = UpstreamLink(
            id=ULIDS.new(),
            provider_id=mas.provider_id,
            subject=body["subject"],
            created_at=now(),
            user_id=user.id,
            human_account_name=body.get("human_account_name"),
        )
        mas.links[link.id] = link
        return single(link, status=201)


@route("POST", "/_standin/fail", "control")
def control_fail(mas: Standin, request: Request) -> Response:
    body = control_body(request)
    try:
        rule = FailRule(
            method=str(body.get("method", "*")).upper(),
            path_prefix=str(body["path_prefix"]),
            status=int(body["status"]),
            title=str(body.get("title", "Injected failure")),
            count=int(body.get("count", 1)),
        )
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "fail needs path_prefix and status") from None
    with mas.lock:
        mas.fail_rules.append(rule)
    return Response(200, {})


@route("GET", "/_standin/requests", "control")
def control_requests(mas: Standin, request: Request) -> Response:
    since = one(request.query, "since") or "0"
    start = int(since) if since.isdigit() else 0
    with mas.lock:
        return Response(200, {"next": len(mas.requests), "requests": mas.requests[start:]})


@route("GET", "/_standin/info", "control")
def control_info(mas: Standin, request: Request) -> Response:
    return Response(
        200,
        {
            "issuer": mas.issuer,
            "admin_client_id": mas.admin_client_id,
            "element_x_client_id": mas.element_x_id,
            "upstream_provider_id": mas.provider_id,
        },
    )


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def authorize_admin(mas: Standin, request: Request) -> None:
    """The admin API's caller check, in MAS's order: header, token format, token, session,
    expiry, user, scope."""
    token = request.bearer()
    if token is None:
        raise ApiError(400, "Missing authorization header")
    if not token:
        raise ApiError(400, "Invalid authorization header")
    prefix = token_prefix(token)
    if prefix is None:
        raise ApiError(401, "Invalid type of access token", "invalid token format")
    if prefix != "mat":
        raise ApiError(401, "Invalid type of access token")
    with mas.lock:
        record = mas.tokens.get(token)
        if record is None or record.kind != "oauth2":
            raise ApiError(401, "Unknown access token")
        session = mas.oauth2_sessions[record.session_id]
        if session.finished_at is not None:
            raise ApiError(401, "Access token revoked")
        if record.expires_at is not None and record.expires_at <= now():
            raise ApiError(401, "Access token expired")
        if session.user_id is not None and not mas.users[session.user_id].is_valid():
            raise ApiError(401, "User locked")
        if MAS_ADMIN_SCOPE not in session.scope.split():
            raise ApiError(401, "Missing urn:mas:admin scope")
        session.last_active_at, session.last_active_ip = now(), request.client_ip


def injected_failure(mas: Standin, request: Request) -> Optional[Response]:
    with mas.lock:
        for rule in mas.fail_rules:
            if rule.count > 0 and rule.method in ("*", request.method) and request.path.startswith(rule.path_prefix):
                rule.count -= 1
                mas.fail_rules = [r for r in mas.fail_rules if r.count > 0]
                return ApiError(rule.status, rule.title).response()
    return None


def dispatch(mas: Standin, request: Request) -> Response:
    allowed = []
    for method, regex, handler, area in ROUTES:
        match = regex.match(request.path)
        if match is None:
            continue
        if method != request.method:
            allowed.append(method)
            continue
        request.params = match.groupdict()
        if area == "control" and not request.client_ip.startswith("127."):
            return Response(403, {"errors": [{"title": "The control API answers loopback only"}]})
        try:
            if area == "admin":
                authorize_admin(mas, request)
                failure = injected_failure(mas, request)
                if failure is not None:
                    return failure
            return handler(mas, request)
        except (ApiError, BodyError, OAuthError, MatrixError) as e:
            return e.response()
    if allowed:
        return Response(405, text="Method Not Allowed", headers={"Allow": ", ".join(sorted(set(allowed)))})
    if request.path.startswith("/_matrix/"):
        return Response(404, {"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})
    return Response(404, text="Not Found")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mas-standin"
    mas: Standin  # set on the class before serving

    def _handle(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=parsed.path,
            raw_query=parsed.query,
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            client_ip=self.client_address[0],
        )
        try:
            response = dispatch(self.mas, request)
        except Exception as e:  # a bug in the stand-in: say so, keep serving
            sys.stderr.write(f"mas-standin: {request.method} {request.path} failed: {type(e).__name__}: {e}\n")
            response = Response(500, {"errors": [{"title": f"stand-in error: {type(e).__name__}"}]})
        if request.path.startswith(API + "/") or request.path == API:
            with self.mas.lock:
                self.mas.requests.append(
                    {
                        "index": len(self.mas.requests),
                        "method": request.method,
                        "path": request.path,
                        "query": request.raw_query,
                        "status": response.status,
                    }
                )
        self._send(response)
        sys.stderr.write(f"mas-standin: {request.method} {request.path} -> {response.status}\n")

    def _send(self, response: Response) -> None:
        if response.text is not None:
            payload, content_type = response.text.encode(), "text/plain; charset=utf-8"
        elif response.body is not None:
            payload, content_type = json.dumps(response.body).encode(), "application/json"
        else:
            payload, content_type = b"", None
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: `_handle` logs one line per request, without query strings or bodies."""


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in for the Matrix Authentication Service.")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--synapse-url", required=True, help='Synapse\'s base URL, or "" to call no homeserver')
    parser.add_argument("--secret", required=True, help="the secret shared with Synapse")
    parser.add_argument("--client-id", required=True, help="the admin API client (client credentials)")
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--min-password-complexity", type=int, default=3, choices=range(0, 5))
    parser.add_argument("--token-ttl", type=int, default=300, help="lifetime of admin API tokens, in seconds")
    parser.add_argument("--server-name", default="localhost")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    Handler.mas = Standin(args, port)
    print(f"mas-standin listening on 127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

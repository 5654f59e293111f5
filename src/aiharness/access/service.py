"""Users, roles, API keys, web sessions and sign-in: the logic, on a session, with domain errors.

Every change writes its audit row in the same transaction (``aiharness.audit.record``); a failed
or refused sign-in writes one in a transaction of its own (nothing else to join).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from aiharness.access.models import ApiKey, LoginFailure, Role, User, WebSession
from aiharness.access.passwords import hash_password, verify_password
from aiharness.access.permissions import BUILTIN_ROLES, ROLE_DESCRIPTIONS, builtin_permissions
from aiharness.access.settings import AccessSettings
from aiharness.audit import record
from aiharness.db.base import utcnow
from aiharness.errors import Conflict, Invalid, NotFound, Unauthenticated
from aiharness.principal import Principal

KEY_PREFIX = "aih_"
# A user name: letters (Hangul too), digits and . _ @ -; no spaces or control characters.
USERNAME = re.compile(r"^[\w.@-]{1,64}$")
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_PASSWORD = 256
MAX_NAME_LIST = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


# -- validation ------------------------------------------------------------------------------
def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise Invalid(
            "a user name has 1-64 letters, digits or . _ @ - (no spaces or control characters)",
            code="invalid_username",
        )
    return username


def check_password(password: str, section: AccessSettings) -> str:
    if len(password) > MAX_PASSWORD:
        raise Invalid(
            f"the password has {len(password)} characters; the limit is {MAX_PASSWORD}",
            code="password_too_long",
        )
    if len(password) < section.min_password_length:
        raise Invalid(
            f"the password needs at least {section.min_password_length} characters",
            code="password_too_short",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise Invalid("the password contains control characters", code="invalid_password")
    return password


def _names(values: Sequence[str] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    cleaned = sorted({v.strip() for v in values if v.strip()})
    if len(cleaned) > MAX_NAME_LIST or any(len(v) > 128 for v in cleaned):
        raise Invalid(f"at most {MAX_NAME_LIST} {what} of at most 128 characters each")
    return cleaned


# -- roles -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoleInfo:
    name: str
    description: str
    permissions: list[str]
    builtin: bool


def list_roles(*, session: Session, known: Mapping[str, str]) -> list[RoleInfo]:
    roles = [
        RoleInfo(r, ROLE_DESCRIPTIONS[r], sorted(builtin_permissions(r, known)), True)
        for r in BUILTIN_ROLES
    ]
    for row in session.scalars(select(Role).order_by(Role.name)):
        roles.append(RoleInfo(row.name, row.description, sorted(row.permissions), False))
    return roles


def role_permissions(*, session: Session, role: str, known: Mapping[str, str]) -> frozenset[str]:
    if role in BUILTIN_ROLES:
        return builtin_permissions(role, known)
    row = session.scalars(select(Role).where(Role.name == role)).first()
    if row is None:
        raise Invalid(f"no role named {role!r}; GET /api/roles lists them", code="no_role")
    # A permission a removed feature declared grants nothing.
    return frozenset(p for p in row.permissions if p in known)


def create_role(
    *,
    session: Session,
    name: str,
    permissions: Sequence[str],
    description: str,
    known: Mapping[str, str],
) -> RoleInfo:
    if not ROLE_NAME.fullmatch(name):
        raise Invalid("a role name is lower-case letters, digits, _ or - (at most 64)")
    if name in BUILTIN_ROLES or session.scalars(select(Role).where(Role.name == name)).first():
        raise Conflict(f"a role named {name!r} exists", code="role_exists")
    unknown = sorted(set(permissions) - set(known))
    if unknown:
        raise Invalid(
            f"unknown permission(s) {', '.join(unknown)}; known: {', '.join(known)}",
            code="unknown_permission",
        )
    row = Role(name=name, description=description[:500], permissions=sorted(set(permissions)))
    session.add(row)
    session.flush()
    record(
        session,
        action="role.create",
        target=f"role:{name}",
        details={"permissions": row.permissions},
    )
    return RoleInfo(row.name, row.description, row.permissions, False)


def delete_role(*, session: Session, name: str) -> None:
    row = session.scalars(select(Role).where(Role.name == name)).first()
    if row is None:
        raise NotFound(f"no custom role named {name!r}")
    users = session.scalar(select(func.count()).select_from(User).where(User.role == name)) or 0
    keys = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.role == name, ApiKey.revoked_at.is_(None))
    )
    if users or keys:
        raise Conflict(f"role {name!r} is used by {users} user(s) and {keys or 0} key(s)")
    session.delete(row)
    record(session, action="role.delete", target=f"role:{name}")


# -- users -----------------------------------------------------------------------------------
def user_count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def find_user(*, session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def get_user(*, session: Session, username: str) -> User:
    user = find_user(session=session, username=username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(
    *,
    session: Session,
    section: AccessSettings,
    known: Mapping[str, str],
    username: str,
    password: str,
    role: str,
    collections: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> User:
    check_username(username)
    check_password(password, section)
    role_permissions(session=session, role=role, known=known)  # the role exists
    if find_user(session=session, username=username) is not None:
        raise Conflict(f"a user named {username!r} exists", code="user_exists")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        collections=_names(collections, "collections"),
        models=_names(models, "models"),
        disabled=False,
    )
    session.add(user)
    session.flush()
    record(
        session,
        action="user.create",
        target=f"user:{username}",
        details={"role": role, "collections": user.collections, "models": user.models},
    )
    return user


def update_user(
    *,
    session: Session,
    known: Mapping[str, str],
    username: str,
    role: str | None = None,
    disabled: bool | None = None,
    collections: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    clear_collections: bool = False,
    clear_models: bool = False,
) -> User:
    """Change a user's role, state or scope; disabling ends the user's sessions."""
    user = get_user(session=session, username=username)
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        role_permissions(session=session, role=role, known=known)
        _keep_an_admin(session=session, user=user, losing=role != "admin")
        user.role = changes["role"] = role
    if disabled is not None and disabled != user.disabled:
        if disabled:
            _keep_an_admin(session=session, user=user, losing=True)
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        user.disabled = changes["disabled"] = disabled
    if collections is not None or clear_collections:
        user.collections = changes["collections"] = (
            None if clear_collections else _names(collections, "collections")
        )
    if models is not None or clear_models:
        user.models = changes["models"] = None if clear_models else _names(models, "models")
    if changes:
        record(session, action="user.update", target=f"user:{username}", details=changes)
    return user


def _keep_an_admin(*, session: Session, user: User, losing: bool) -> None:
    if not losing or user.role != "admin" or user.disabled:
        return
    admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled.is_(False), User.id != user.id)
    )
    if not admins:
        raise Conflict("this is the last active admin; make another admin first", code="last_admin")


def set_password(
    *,
    session: Session,
    section: AccessSettings,
    username: str,
    password: str,
    current: str | None = None,
) -> User:
    """A new password; ``current`` is checked when the user changes their own. Every session
    of the user ends (a stolen cookie stops working)."""
    user = get_user(session=session, username=username)
    if current is not None and not verify_password(user.password_hash, current):
        raise Invalid("the current password is wrong", code="wrong_password")
    check_password(password, section)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    record(session, action="user.password", target=f"user:{username}")
    return user


# -- principals ------------------------------------------------------------------------------
def _scope(*lists: list[str] | None) -> frozenset[str] | None:
    """The intersection of the given allow-lists (None = everything)."""
    result: frozenset[str] | None = None
    for names in lists:
        if names is None:
            continue
        result = frozenset(names) if result is None else result & frozenset(names)
    return result


def user_principal(
    *, session: Session, user: User, known: Mapping[str, str], via: str, csrf: str | None = None
) -> Principal:
    return Principal(
        id=f"user:{user.id}",
        name=user.username,
        roles=frozenset({user.role}),
        authenticated=True,
        permissions=role_permissions(session=session, role=user.role, known=known),
        collections=_scope(user.collections),
        models=_scope(user.models),
        via=via,
        csrf_token=csrf,
    )


@dataclass(frozen=True)
class Resolved:
    """A checked credential: the principal and when the credential stops being valid."""

    principal: Principal
    expires_at: datetime | None


def principal_of_key(
    *, session: Session, key: str, known: Mapping[str, str], touch_after_s: float = 60.0
) -> Resolved | None:
    """The principal an API key acts as, or None for a wrong, expired or revoked key."""
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == token_hash(key))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= touch_after_s:
        row.last_used_at = now
    user = session.get(User, row.user_id) if row.user_id is not None else None
    if row.user_id is not None and (user is None or user.disabled):
        return None
    permissions: frozenset[str] | None = None
    roles: set[str] = set()
    if user is not None:
        permissions = role_permissions(session=session, role=user.role, known=known)
        roles.add(user.role)
    if row.role is not None:
        try:
            granted = role_permissions(session=session, role=row.role, known=known)
        except Invalid:  # its custom role was removed: the key grants nothing
            granted = frozenset()
        permissions = granted if permissions is None else permissions & granted
        roles.add(row.role)
    owner = user.username if user is not None else f"role {row.role}"
    principal = Principal(
        id=f"key:{row.id}",
        name=f"{owner} (key {row.name})",
        roles=frozenset(roles),
        authenticated=True,
        permissions=permissions if permissions is not None else frozenset(),
        collections=_scope(user.collections if user else None, row.collections),
        models=_scope(user.models if user else None, row.models),
        via="key",
    )
    return Resolved(principal, row.expires_at)


def principal_of_session(
    *, session: Session, token: str, known: Mapping[str, str]
) -> Resolved | None:
    row = session.scalars(
        select(WebSession).where(WebSession.token_hash == token_hash(token))
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    principal = user_principal(
        session=session, user=user, known=known, via="session", csrf=row.csrf_token
    )
    return Resolved(principal, row.expires_at)


# -- API keys --------------------------------------------------------------------------------
def create_key(
    *,
    session: Session,
    known: Mapping[str, str],
    name: str,
    username: str | None,
    role: str | None,
    collections: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    expires_in_days: float | None = None,
    created_by: str = "",
) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once; only its hash is kept)."""
    if not name.strip() or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise Invalid("a key name has 1-100 printable characters")
    if username is None and role is None:
        raise Invalid("a key acts for a user, a role, or a user narrowed to a role")
    user = get_user(session=session, username=username) if username is not None else None
    if role is not None:
        role_permissions(session=session, role=role, known=known)
    if expires_in_days is not None and not 0 < expires_in_days <= 3650:
        raise Invalid("a key expires after more than 0 and at most 3650 days")
    secret = new_api_key()
    row = ApiKey(
        name=name.strip(),
        prefix=secret[:12],
        key_hash=token_hash(secret),
        user_id=user.id if user else None,
        role=role,
        collections=_names(collections, "collections"),
        models=_names(models, "models"),
        created_by=created_by[:100],
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="key.create",
        target=f"key:{row.id}",
        details={
            "name": row.name,
            "user": username,
            "role": role,
            "collections": row.collections,
            "models": row.models,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
    )
    return row, secret


def list_keys(*, session: Session, username: str | None = None) -> list[tuple[ApiKey, str | None]]:
    query = select(ApiKey, User.username).outerjoin(User, User.id == ApiKey.user_id)
    if username is not None:
        query = query.where(User.username == username)
    return [(k, u) for k, u in session.execute(query.order_by(ApiKey.id.desc()))]


def revoke_key(*, session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(session, action="key.revoke", target=f"key:{key_id}", details={"name": row.name})
    return row


# -- sign-in ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignIn:
    user: User
    token: str
    csrf_token: str
    expires_at: datetime


def _failure_row(*, session: Session, username: str, address: str) -> LoginFailure | None:
    return session.scalars(
        select(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.client_address == address
        )
    ).first()


def locked_for(*, session: Session, username: str, address: str) -> float:
    """Seconds this user name from this address must still wait (0: not locked)."""
    row = _failure_row(session=session, username=username[:64], address=address[:64])
    if row is None or row.locked_until is None:
        return 0.0
    return max(0.0, (row.locked_until - utcnow()).total_seconds())


def note_failure(*, session: Session, section: AccessSettings, username: str, address: str) -> bool:
    """Count a failed sign-in; True when it locks the user name from this address."""
    username, address = username[:64], address[:64]
    now = utcnow()
    row = _failure_row(session=session, username=username, address=address)
    if row is None:
        row = LoginFailure(username=username, client_address=address, failures=0, window_start=now)
        session.add(row)
    elif (now - row.window_start).total_seconds() > section.lockout_window_s:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= section.lockout_attempts:
        row.locked_until = now + timedelta(seconds=section.lockout_s)
        row.failures, row.window_start = 0, now
        return True
    return False


def sign_in(
    *,
    session: Session,
    section: AccessSettings,
    username: str,
    password: str,
    address: str,
) -> SignIn:
    """Check the password and open a new session (a new token every time: no fixation).
    Raises ``Unauthenticated`` (the caller records the failure in its own transaction)."""
    if len(password) > MAX_PASSWORD:
        raise Invalid(
            f"the password is longer than {MAX_PASSWORD} characters", code="password_too_long"
        )
    wait = locked_for(session=session, username=username, address=address)
    if wait > 0:
        raise Unauthenticated(
            f"too many failed sign-ins; try again in {int(wait) + 1} s", code="locked_out"
        )
    user = find_user(session=session, username=username) if USERNAME.fullmatch(username) else None
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise Unauthenticated("wrong user name or password", code="bad_credentials")
    row = _failure_row(session=session, username=username, address=address[:64])
    if row is not None:
        session.delete(row)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=section.session_hours)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=expires,
            client_address=address[:64] or None,
        )
    )
    # Expired sessions of everyone go when someone signs in: the table stays small.
    session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    record(session, action="auth.login", target=f"user:{username}")
    return SignIn(user=user, token=token, csrf_token=csrf, expires_at=expires)


def sign_out(*, session: Session, token: str) -> None:
    row = session.scalars(
        select(WebSession).where(WebSession.token_hash == token_hash(token))
    ).first()
    if row is not None:
        user = session.get(User, row.user_id)
        session.delete(row)
        record(
            session, action="auth.logout", target=f"user:{user.username if user else row.user_id}"
        )

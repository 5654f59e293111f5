"""``aiharness users create-admin|create|list|set-role|disable|enable|passwd`` and
``aiharness keys create|list|revoke``.

On the data dir (the database is the source of truth; ``create-admin`` works before the first
start), or through a running platform with ``--url`` and an admin's ``AIHARNESS_API_KEY``.
Passwords are asked for (hidden, twice) or read from stdin with ``--password-stdin``; a key's
secret is printed once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aiharness.cli.common import UrlOption, console, echo_json, fail, local_platform

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aiharness.access.runtime import AccessRuntime
    from aiharness.cli.client import PlatformClient

users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ListOption = Annotated[
    str | None, typer.Option(help="Comma-separated names it is limited to (default: all).")
]


def register(root: typer.Typer) -> None:
    root.add_typer(users_app, name="users")
    root.add_typer(keys_app, name="keys")


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()] or None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@contextmanager
def _local(*, new_data_dir_ok: bool = False) -> Iterator[tuple[Session, AccessRuntime]]:
    """A unit of work on the data dir with the access runtime (permission catalog, settings)."""
    from aiharness.access.runtime import AccessRuntime
    from aiharness.observability.context import Actor, set_process_actor

    set_process_actor(Actor(id="cli", name="cli"))
    with local_platform(new_data_dir_ok=new_data_dir_ok) as platform:
        runtime = platform.get(AccessRuntime)
        with platform.unit_of_work() as session:
            yield session, runtime


@contextmanager
def _remote(url: str) -> Iterator[PlatformClient]:
    from aiharness.cli.client import PlatformClient
    from aiharness.cli.common import errors_as_lines

    client = PlatformClient(url)
    try:
        with errors_as_lines():
            yield client
    finally:
        client.close()


def _call(client: PlatformClient, method: str, path: str, **kwargs: Any) -> Any:
    return client._json(method, path, **kwargs)


def _user_row(user: Any) -> dict[str, Any]:
    get: Callable[[str], Any] = (
        user.get if isinstance(user, dict) else lambda name: getattr(user, name)
    )
    return {
        "username": get("username"),
        "role": get("role"),
        "disabled": bool(get("disabled")),
        "collections": get("collections"),
        "models": get("models"),
    }


# -- users -----------------------------------------------------------------------------------
@users_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(help="The admin's user name.")] = "admin",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an admin on the data dir (the first user of a new install)."""
    from aiharness.access import service

    password = _password(password_stdin)
    with _local(new_data_dir_ok=True) as (session, runtime):
        service.create_user(
            session=session,
            section=runtime.section,
            known=runtime.permissions,
            username=username,
            password=password,
            role="admin",
        )
    console.print(f"admin [bold]{username}[/] created; sign in at /login")


@users_app.command("create")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="admin, operator, viewer or a custom role.")] = "viewer",
    collections: ListOption = None,
    models: ListOption = None,
    password_stdin: PasswordStdin = False,
    url: str | None = UrlOption,
) -> None:
    """Create a user."""
    from aiharness.access import service

    password = _password(password_stdin)
    if url:
        body = {
            "username": username,
            "password": password,
            "role": role,
            "collections": _names(collections),
            "models": _names(models),
        }
        with _remote(url) as client:
            _call(client, "POST", "/api/users", json=body)
    else:
        with _local() as (session, runtime):
            service.create_user(
                session=session,
                section=runtime.section,
                known=runtime.permissions,
                username=username,
                password=password,
                role=role,
                collections=_names(collections),
                models=_names(models),
            )
    console.print(f"user [bold]{username}[/] ({role}) created")


@users_app.command("list")
def list_users(url: str | None = UrlOption, as_json: JsonOption = False) -> None:
    """Users with their roles and limits."""
    from aiharness.access import service

    if url:
        with _remote(url) as client:
            rows = [_user_row(u) for u in _call(client, "GET", "/api/users")]
    else:
        with _local() as (session, _runtime):
            rows = [_user_row(u) for u in service.list_users(session=session)]
    if as_json:
        echo_json(rows)
        return
    from rich.table import Table

    table = Table("user", "role", "state", "collections", "models")
    for row in rows:
        table.add_row(
            row["username"],
            row["role"],
            "disabled" if row["disabled"] else "active",
            ", ".join(row["collections"] or ["all"]),
            ", ".join(row["models"] or ["all"]),
        )
    console.print(table)


def _update(username: str, url: str | None, **changes: Any) -> None:
    from aiharness.access import service

    if url:
        with _remote(url) as client:
            _call(client, "PATCH", f"/api/users/{username}", json=changes)
        return
    with _local() as (session, runtime):
        service.update_user(
            session=session, known=runtime.permissions, username=username, **changes
        )


@users_app.command("set-role")
def set_role(username: str, role: str, url: str | None = UrlOption) -> None:
    """Give a user another role."""
    _update(username, url, role=role)
    console.print(f"{username} is now {role}")


@users_app.command("disable")
def disable(username: str, url: str | None = UrlOption) -> None:
    """Disable a user: their sessions end and their keys stop working."""
    _update(username, url, disabled=True)
    console.print(f"{username} disabled")


@users_app.command("enable")
def enable(username: str, url: str | None = UrlOption) -> None:
    """Enable a disabled user again."""
    _update(username, url, disabled=False)
    console.print(f"{username} enabled")


@users_app.command("passwd")
def passwd(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a user's password on the data dir (their sessions end)."""
    from aiharness.access import service

    password = _password(password_stdin)
    with _local() as (session, runtime):
        service.set_password(
            session=session, section=runtime.section, username=username, password=password
        )
    console.print(f"password of {username} changed")


# -- keys ------------------------------------------------------------------------------------
@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="What the key is for (shown in lists).")],
    user: Annotated[str | None, typer.Option(help="The key acts for this user.")] = None,
    role: Annotated[
        str | None, typer.Option(help="...or for this role (or narrows the user).")
    ] = None,
    collections: ListOption = None,
    models: ListOption = None,
    expires_days: Annotated[float | None, typer.Option(help="Days until it expires.")] = None,
    url: str | None = UrlOption,
    as_json: JsonOption = False,
) -> None:
    """Create a key; its secret is printed once and never stored."""
    from aiharness.access import service

    if user is None and role is None:
        fail("say who the key acts for: --user NAME and/or --role ROLE")
    if url:
        body = {
            "name": name,
            "user": user,
            "role": role,
            "collections": _names(collections),
            "models": _names(models),
            "expires_in_days": expires_days,
        }
        with _remote(url) as client:
            created = _call(client, "POST", "/api/keys", json=body)
        key_id, secret = created["id"], created["key"]
    else:
        with _local() as (session, runtime):
            row, secret = service.create_key(
                session=session,
                known=runtime.permissions,
                name=name,
                username=user,
                role=role,
                collections=_names(collections),
                models=_names(models),
                expires_in_days=expires_days,
                created_by="cli",
            )
            key_id = row.id
    if as_json:
        echo_json({"id": key_id, "name": name, "key": secret})
        return
    console.print(f"key {key_id} ({name}) created; copy it now, it is not shown again:")
    print(secret)


@keys_app.command("list")
def list_keys(url: str | None = UrlOption, as_json: JsonOption = False) -> None:
    """Keys with who they act for, their limits and last use (never their secrets)."""
    from aiharness.access import service

    if url:
        with _remote(url) as client:
            rows = _call(client, "GET", "/api/keys")
    else:
        with _local() as (session, _runtime):
            rows = [
                {
                    "id": k.id,
                    "name": k.name,
                    "prefix": k.prefix,
                    "user": owner,
                    "role": k.role,
                    "collections": k.collections,
                    "models": k.models,
                    "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                    "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                }
                for k, owner in service.list_keys(session=session)
            ]
    if as_json:
        echo_json(rows)
        return
    from rich.table import Table

    table = Table("id", "name", "key", "acts for", "collections", "state", "last used")
    for row in rows:
        owner = " / ".join(str(v) for v in (row["user"], row["role"]) if v)
        state = "revoked" if row["revoked_at"] else "active"
        table.add_row(
            str(row["id"]),
            row["name"],
            row["prefix"] + "…",
            owner,
            ", ".join(row["collections"] or ["all"]),
            state,
            str(row["last_used_at"] or "-"),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke_key(key_id: int, url: str | None = UrlOption) -> None:
    """Revoke a key: it stops working at once here, within seconds in other processes."""
    from aiharness.access import service

    if url:
        with _remote(url) as client:
            _call(client, "DELETE", f"/api/keys/{key_id}")
    else:
        with _local() as (session, _runtime):
            service.revoke_key(session=session, key_id=key_id)
    console.print(f"key {key_id} revoked")

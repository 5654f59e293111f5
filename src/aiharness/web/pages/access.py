"""Sign-in, sign-out, password change, the first-run page, and Admin -> Users and Keys.

Forms are plain HTML posts carrying the session's CSRF token (the resolver checks it); the
sign-in and first-run forms have no session yet and rely on the cross-site check instead.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from aiharness.access import service
from aiharness.access.deps import AccessDep
from aiharness.access.permissions import BUILTIN_ROLES
from aiharness.access.runtime import SESSION_COOKIE, AccessRuntime
from aiharness.audit import record_now
from aiharness.deps import CurrentPrincipal, PlatformDep, RowId, SessionDep
from aiharness.errors import DomainError, Forbidden, NotFound, Unauthenticated
from aiharness.observability.context import Actor
from aiharness.web.templating import NavItem, WebDep, page_router

router = page_router()
# Entries of the Admin section (its landing page lists what pages modules declare).
ADMIN = (NavItem("users", "/admin/users", 10), NavItem("keys", "/admin/keys", 20))

Text = Annotated[str, Form(max_length=1024)]
OptionalText = Annotated[str, Form(max_length=4096)]


def safe_next(target: str | None) -> str:
    """Only a path of this site (``//evil`` and ``/\\evil`` are other sites to browsers)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _names(text: str) -> list[str] | None:
    """A comma-separated allow-list; empty means no limit."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names or None


def _start_session(
    request: Request, runtime: AccessRuntime, response: Response, sign_in: service.SignIn
) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        sign_in.token,
        max_age=int(runtime.section.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=runtime.secure_cookie(request),
        path="/",
    )
    return response


def _login_page(
    request: Request,
    web: WebDep,
    session: Session,
    *,
    next_path: str,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    runtime_open = _runtime(request).open
    context = {
        "next": next_path,
        "error": error,
        "no_users": service.user_count(session=session) == 0,
        "open_mode": runtime_open,
    }
    return web.render(request, "access_login.html", context, status_code=status_code)


def _runtime(request: Request) -> AccessRuntime:
    runtime: AccessRuntime = request.app.state.platform.get(AccessRuntime)
    return runtime


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, web: WebDep, session: SessionDep, next: str | None = None
) -> HTMLResponse:
    return _login_page(request, web, session, next_path=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    web: WebDep,
    platform: PlatformDep,
    runtime: AccessDep,
    username: Text,
    password: Text,
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    await runtime.refuse_cross_site(request)
    address = runtime.client_address(request)
    old_token = request.cookies.get(SESSION_COOKIE)
    try:
        with platform.unit_of_work() as session:
            signed = service.sign_in(
                session=session,
                section=runtime.section,
                username=username,
                password=password,
                address=address,
            )
            if old_token:  # a new session every time; the old cookie's session ends
                service.sign_out(session=session, token=old_token)
    except Unauthenticated as exc:
        with platform.unit_of_work() as session:
            locked = exc.code != "locked_out" and service.note_failure(
                session=session, section=runtime.section, username=username, address=address
            )
        record_now(
            platform.session_factory,
            action="auth.login",
            target=f"user:{username[:64]}",
            result="denied",
            details={"reason": exc.code, "locked": locked},
            actor=Actor(id="anonymous", name=username[:64] or "anonymous"),
        )
        key = "access.login.locked" if exc.code == "locked_out" or locked else "access.login.bad"
        with platform.unit_of_work() as session:
            return _login_page(
                request, web, session, next_path=safe_next(next), error=key, status_code=401
            )
    runtime.forget()
    response = RedirectResponse(safe_next(next), status_code=303)
    return _start_session(request, runtime, response, signed)


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.sign_out(session=session, token=token)
    runtime.forget()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_page(
    request: Request, web: WebDep, principal: CurrentPrincipal, done: bool = False
) -> HTMLResponse:
    context = {"signed_in": principal.via == "session", "done": done, "error": None}
    return web.render(request, "access_password.html", context)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: AccessDep,
    principal: CurrentPrincipal,
    current: Text,
    new: Text,
    confirm: Text,
) -> Response:
    if principal.via != "session":
        raise Forbidden("only a signed-in user has a password to change here")
    error: str | None = None
    if new != confirm:
        error = "access.password.mismatch"
    else:
        try:
            service.set_password(
                session=session,
                section=runtime.section,
                username=principal.name,
                password=new,
                current=current,
            )
        except DomainError as exc:
            error = exc.message
    if error is not None:
        context = {"signed_in": True, "done": False, "error": error}
        return web.render(request, "access_password.html", context, status_code=422)
    runtime.forget()
    # Every session of the user ended with the old password: sign in again.
    response = RedirectResponse("/login?next=/account/password%3Fdone%3Dtrue", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _first_run_allowed(request: Request, runtime: AccessRuntime, session: Session) -> None:
    if not runtime.is_local_request(request) or service.user_count(session=session) > 0:
        raise NotFound("the first-run page exists only on this machine while no user exists")


@router.get("/first-run", response_class=HTMLResponse)
def first_run_page(
    request: Request, web: WebDep, session: SessionDep, runtime: AccessDep
) -> HTMLResponse:
    _first_run_allowed(request, runtime, session)
    return web.render(request, "access_first_run.html", {"error": None})


@router.post("/first-run", response_class=HTMLResponse)
async def first_run(
    request: Request,
    web: WebDep,
    platform: PlatformDep,
    runtime: AccessDep,
    username: Text,
    password: Text,
    confirm: Text,
) -> Response:
    await runtime.refuse_cross_site(request)
    try:
        with platform.unit_of_work() as session:
            _first_run_allowed(request, runtime, session)
            if password != confirm:
                return web.render(
                    request,
                    "access_first_run.html",
                    {"error": "access.password.mismatch"},
                    status_code=422,
                )
            service.create_user(
                session=session,
                section=runtime.section,
                known=runtime.permissions,
                username=username,
                password=password,
                role="admin",
            )
            signed = service.sign_in(
                session=session,
                section=runtime.section,
                username=username,
                password=password,
                address=runtime.client_address(request),
            )
    except NotFound:
        raise
    except DomainError as exc:
        return web.render(request, "access_first_run.html", {"error": exc.message}, status_code=422)
    return _start_session(request, runtime, RedirectResponse("/", status_code=303), signed)


# -- Admin -> Users and Keys ---------------------------------------------------------------
def _users_context(session: Session, runtime: AccessRuntime) -> dict[str, Any]:
    roles = service.list_roles(session=session, known=runtime.permissions)
    return {
        "users": service.list_users(session=session),
        "roles": [r.name for r in roles],
        "role_info": roles,
        "builtin": BUILTIN_ROLES,
    }


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: AccessDep,
    _p: CurrentPrincipal,
    done: str | None = None,
) -> HTMLResponse:
    context = {**_users_context(session, runtime), "done": done, "error": None}
    return web.render(request, "access_users.html", context, active="admin")


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    web: WebDep,
    platform: PlatformDep,
    runtime: AccessDep,
    _p: CurrentPrincipal,
    username: Text,
    password: Text,
    role: Text,
    collections: OptionalText = "",
    models: OptionalText = "",
) -> Response:
    try:
        with platform.unit_of_work() as session:
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
    except DomainError as exc:
        with platform.unit_of_work() as session:
            context = {**_users_context(session, runtime), "done": None, "error": exc.message}
            return web.render(
                request, "access_users.html", context, active="admin", status_code=422
            )
    return RedirectResponse("/admin/users?done=created", status_code=303)


@router.post("/admin/users/{username}", response_class=HTMLResponse)
def update_user(
    request: Request,
    web: WebDep,
    platform: PlatformDep,
    runtime: AccessDep,
    _p: CurrentPrincipal,
    username: str,
    role: Text,
    disabled: Annotated[bool, Form()] = False,
) -> Response:
    try:
        with platform.unit_of_work() as session:
            service.update_user(
                session=session,
                known=runtime.permissions,
                username=username,
                role=role,
                disabled=disabled,
            )
    except DomainError as exc:
        with platform.unit_of_work() as session:
            context = {**_users_context(session, runtime), "done": None, "error": exc.message}
            return web.render(
                request, "access_users.html", context, active="admin", status_code=422
            )
    runtime.forget()
    return RedirectResponse("/admin/users?done=updated", status_code=303)


def _keys_context(session: Session, runtime: AccessRuntime) -> dict[str, Any]:
    roles = service.list_roles(session=session, known=runtime.permissions)
    return {
        "keys": service.list_keys(session=session),
        "users": [u.username for u in service.list_users(session=session)],
        "roles": [r.name for r in roles],
        "secret": None,
        "error": None,
    }


@router.get("/admin/keys", response_class=HTMLResponse)
def keys_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    runtime: AccessDep,
    _p: CurrentPrincipal,
) -> HTMLResponse:
    return web.render(request, "access_keys.html", _keys_context(session, runtime), active="admin")


@router.post("/admin/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    web: WebDep,
    platform: PlatformDep,
    runtime: AccessDep,
    principal: CurrentPrincipal,
    name: Text,
    user: Text = "",
    role: Text = "",
    collections: OptionalText = "",
    models: OptionalText = "",
    expires_in_days: Annotated[float | None, Form(gt=0, le=3650)] = None,
) -> HTMLResponse:
    secret: str | None = None
    error: str | None = None
    try:
        with platform.unit_of_work() as session:
            _row, secret = service.create_key(
                session=session,
                known=runtime.permissions,
                name=name,
                username=user or None,
                role=role or None,
                collections=_names(collections),
                models=_names(models),
                expires_in_days=expires_in_days,
                created_by=principal.name,
            )
    except DomainError as exc:
        error, secret = exc.message, None
    with platform.unit_of_work() as session:
        context = {**_keys_context(session, runtime), "secret": secret, "error": error}
    # The secret is on this page once: never cached, never in a URL.
    response = web.render(
        request,
        "access_keys.html",
        context,
        active="admin",
        status_code=201 if secret else 422,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/keys/{key_id}/revoke")
def revoke_key(
    key_id: RowId, session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal
) -> Response:
    service.revoke_key(session=session, key_id=key_id)
    runtime.forget()
    return RedirectResponse("/admin/keys", status_code=303)

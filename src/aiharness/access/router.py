"""/api/auth/me, /api/users, /api/keys, /api/roles and /api/permissions (admin:users)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from aiharness.access import service
from aiharness.access.deps import AccessDep
from aiharness.access.models import ApiKey
from aiharness.access.schemas import (
    KeyCreate,
    KeyCreated,
    KeyPublic,
    PermissionPublic,
    PrincipalPublic,
    RoleCreate,
    RolePublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from aiharness.api_errors import error_responses
from aiharness.deps import CurrentPrincipal, RowId, SessionDep
from aiharness.principal import Principal

router = APIRouter(tags=["access"], responses=error_responses(401, 403, 404, 409, 422))
Username = Annotated[str, Path(min_length=1, max_length=64)]
RoleName = Annotated[str, Path(min_length=1, max_length=64)]


def principal_public(principal: Principal) -> PrincipalPublic:
    def listed(values: frozenset[str] | None) -> list[str] | None:
        return None if values is None else sorted(values)

    return PrincipalPublic(
        id=principal.id,
        name=principal.name,
        roles=sorted(principal.roles),
        permissions=listed(principal.permissions),
        collections=listed(principal.collections),
        models=listed(principal.models),
        via=principal.via,
    )


def key_public(row: ApiKey, username: str | None) -> KeyPublic:
    return KeyPublic(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        user=username,
        role=row.role,
        collections=row.collections,
        models=row.models,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


@router.get("/api/auth/me", summary="Who the caller is, with their permissions and scope")
def me(principal: CurrentPrincipal) -> PrincipalPublic:
    return principal_public(principal)


@router.get("/api/permissions", summary="Every permission the installed features define")
def list_permissions(runtime: AccessDep, _p: CurrentPrincipal) -> list[PermissionPublic]:
    return [PermissionPublic(name=n, description=d) for n, d in runtime.permissions.items()]


@router.get("/api/users", summary="Users")
def list_users(session: SessionDep, _p: CurrentPrincipal) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in service.list_users(session=session)]


@router.post("/api/users", status_code=status.HTTP_201_CREATED, summary="Create a user")
def create_user(
    user_in: UserCreate, session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal
) -> UserPublic:
    user = service.create_user(
        session=session,
        section=runtime.section,
        known=runtime.permissions,
        username=user_in.username,
        password=user_in.password,
        role=user_in.role,
        collections=user_in.collections,
        models=user_in.models,
    )
    return UserPublic.model_validate(user)


@router.get("/api/users/{username}", summary="One user")
def get_user(username: Username, session: SessionDep, _p: CurrentPrincipal) -> UserPublic:
    return UserPublic.model_validate(service.get_user(session=session, username=username))


@router.patch("/api/users/{username}", summary="Change a user's role, state, scope or password")
def update_user(
    username: Username,
    update: UserUpdate,
    session: SessionDep,
    runtime: AccessDep,
    _p: CurrentPrincipal,
) -> UserPublic:
    user = service.update_user(
        session=session,
        known=runtime.permissions,
        username=username,
        role=update.role,
        disabled=update.disabled,
        collections=update.collections,
        models=update.models,
        clear_collections=update.all_collections,
        clear_models=update.all_models,
    )
    if update.password is not None:
        service.set_password(
            session=session, section=runtime.section, username=username, password=update.password
        )
    runtime.forget()
    return UserPublic.model_validate(user)


@router.get("/api/keys", summary="API keys (never their secrets)")
def list_keys(session: SessionDep, _p: CurrentPrincipal) -> list[KeyPublic]:
    return [key_public(k, u) for k, u in service.list_keys(session=session)]


@router.post(
    "/api/keys", status_code=status.HTTP_201_CREATED, summary="Create a key (its secret once)"
)
def create_key(
    key_in: KeyCreate, session: SessionDep, runtime: AccessDep, principal: CurrentPrincipal
) -> KeyCreated:
    row, secret = service.create_key(
        session=session,
        known=runtime.permissions,
        name=key_in.name,
        username=key_in.user,
        role=key_in.role,
        collections=key_in.collections,
        models=key_in.models,
        expires_in_days=key_in.expires_in_days,
        created_by=principal.name,
    )
    return KeyCreated(**key_public(row, key_in.user).model_dump(), key=secret)


@router.delete("/api/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a key")
def revoke_key(
    key_id: RowId, session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal
) -> Response:
    service.revoke_key(session=session, key_id=key_id)
    runtime.forget()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/roles", summary="Built-in and custom roles with their permissions")
def list_roles(session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal) -> list[RolePublic]:
    roles = service.list_roles(session=session, known=runtime.permissions)
    return [RolePublic(**vars(r)) for r in roles]


@router.post("/api/roles", status_code=status.HTTP_201_CREATED, summary="Create a custom role")
def create_role(
    role_in: RoleCreate, session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal
) -> RolePublic:
    role = service.create_role(
        session=session,
        name=role_in.name,
        permissions=role_in.permissions,
        description=role_in.description,
        known=runtime.permissions,
    )
    return RolePublic(**vars(role))


@router.delete(
    "/api/roles/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a custom role"
)
def delete_role(
    name: RoleName, session: SessionDep, runtime: AccessDep, _p: CurrentPrincipal
) -> Response:
    service.delete_role(session=session, name=name)
    runtime.forget()
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""API shapes of access control; secrets appear only in ``KeyCreated`` (once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=128)]
NameList = Annotated[list[Name], Field(max_length=200)]


class PrincipalPublic(BaseModel):
    id: str
    name: str
    roles: list[str]
    permissions: list[str] | None = Field(description="None: every permission (open mode).")
    collections: list[str] | None = Field(description="None: every collection.")
    models: list[str] | None = Field(description="None: every model.")
    via: str = Field(description="`open`, `session`, `key` or `anonymous`.")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    role: str = Field("viewer", min_length=1, max_length=64)
    collections: NameList | None = None
    models: NameList | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(None, min_length=1, max_length=64)
    disabled: bool | None = None
    collections: NameList | None = Field(None, description="Replace the collections list.")
    models: NameList | None = None
    all_collections: bool = Field(False, description="Lift the collections limit.")
    all_models: bool = Field(False, description="Lift the models limit.")
    password: str | None = Field(None, min_length=1, max_length=256)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    role: str
    disabled: bool
    collections: list[str] | None
    models: list[str] | None
    created_at: datetime
    password_changed_at: datetime


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    user: str | None = Field(None, max_length=64, description="The key acts for this user.")
    role: str | None = Field(None, max_length=64, description="...or for this role (or both).")
    collections: NameList | None = None
    models: NameList | None = None
    expires_in_days: float | None = Field(None, gt=0, le=3650)


class KeyPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    user: str | None
    role: str | None
    collections: list[str] | None
    models: list[str] | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The secret: shown this once, stored only as a hash.")


class RoleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    permissions: Annotated[list[Name], Field(max_length=200)]
    description: str = Field("", max_length=500)


class RolePublic(BaseModel):
    name: str
    description: str
    permissions: list[str]
    builtin: bool


class PermissionPublic(BaseModel):
    name: str
    description: str

"""The developer portal's tables: developer accounts, their browser sessions, and trainers' classrooms.

A developer account owns one tenant (DESIGN.md §4). The portal keeps the tenant's initial access token and a
classroom's credentials in plain text so it can show them again (a sandbox convenience: they open sandbox data only).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from openbank_kit.db import UtcDateTime


class DeveloperAccount(SQLModel, table=True):
    __tablename__ = "developer_account"

    developer_id: str = Field(primary_key=True, max_length=40)
    email: str = Field(max_length=254, unique=True)
    password_scrypt: str = Field(max_length=128)  # hex of hashlib.scrypt(password, salt, n=2**14, r=8, p=1)
    password_salt: str = Field(max_length=64)
    tenant_id: str = Field(max_length=64, unique=True)
    initial_access_token: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UtcDateTime)


class PortalSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a secret whose hash is the key; sign-out deletes the row."""

    __tablename__ = "portal_session"

    session_sha256: str = Field(primary_key=True, max_length=64)
    developer_id: str = Field(index=True, max_length=40)
    csrf_token: str = Field(max_length=64)
    persona_username: str | None = Field(default=None, max_length=64)  # "log in as this persona"
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)


class Classroom(SQLModel, table=True):
    __tablename__ = "classroom"

    classroom_id: str = Field(primary_key=True, max_length=40)
    developer_id: str = Field(index=True, max_length=40)
    name: str = Field(max_length=80)
    created_at: datetime = Field(sa_type=UtcDateTime)


class ClassroomTeam(SQLModel, table=True):
    """One team of a classroom: its own tenant and one sandbox-basic app (the credentials sheet's row)."""

    __tablename__ = "classroom_team"

    classroom_id: str = Field(primary_key=True, max_length=40)
    position: int = Field(primary_key=True)
    team_name: str = Field(max_length=40)
    tenant_id: str = Field(max_length=64, unique=True)
    initial_access_token: str = Field(max_length=100)
    client_id: str = Field(max_length=64)
    client_secret: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UtcDateTime)


PORTAL_TABLES = [
    DeveloperAccount.__table__,
    PortalSession.__table__,
    Classroom.__table__,
    ClassroomTeam.__table__,
]

"""Wire shapes of the sandbox API (DESIGN.md §4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CreateTenantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class AdvanceClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Days: int = Field(ge=1, le=3660)

"""Settings shared by every process, read from OPENBANK_* environment variables.

A bad value stops the process with one line naming the variable (SettingsError), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "OPENBANK_"

# The environment variable that moves each process off its default port (named in port-in-use errors).
PORT_VARIABLES = {
    "gateway": "OPENBANK_GATEWAY_PORT",
    "accounts": "OPENBANK_ACCOUNTS_PORT",
    "payments": "OPENBANK_PAYMENTS_PORT",
    "loans": "OPENBANK_LOANS_PORT",
}


class SettingsError(Exception):
    """A setting has a value the sandbox cannot use; the message names the variable."""


class KitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # Storage: unset means the embedded default (one SQLite file per service under var_dir).
    database_url: str | None = None
    redis_url: str | None = None
    var_dir: Path = Path("var")

    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    accounts_port: int = Field(default=8101, ge=1, le=65535)
    payments_port: int = Field(default=8102, ge=1, le=65535)
    loans_port: int = Field(default=8103, ge=1, le=65535)
    # Where the gateway reaches each service when they do not share its host (compose, Kubernetes).
    accounts_url: str | None = None
    payments_url: str | None = None
    loans_url: str | None = None
    provision_demo: bool = (
        False  # the gateway creates tenant `demo` at start (compose; `openbank up` does it itself)
    )

    # Service-to-service calls carry this bearer token until the gateway issues internal client-credentials tokens.
    internal_token: str | None = None
    internal_timeout_s: float = Field(default=10.0, gt=0, le=120)

    world_seed: int = Field(default=8, ge=0)
    world_retail_customers: int = Field(default=200, ge=0, le=20000)
    world_smes: int = Field(default=30, ge=0, le=5000)

    open_signup: bool = True
    operator_token: str | None = None

    log_level: str = "INFO"
    log_json: bool = True

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_pool_timeout_s: float = Field(default=10.0, gt=0, le=120)
    db_lock_timeout_ms: int = Field(default=10000, ge=100, le=600000)

    @field_validator("issuer")
    @classmethod
    def _issuer_has_no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("postgresql+psycopg://", "postgresql://", "sqlite:///")):
            raise ValueError("must start with postgresql+psycopg:// (or sqlite:/// for a single file)")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    def port_of(self, process: str) -> int:
        return getattr(self, f"{process}_port")

    def url_of(self, process: str) -> str:
        configured = getattr(self, f"{process}_url", None)
        if configured:
            return configured.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port_of(process)}"


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S] = KitSettings, **overrides: object) -> S:  # type: ignore[assignment]
    """Build settings from the environment, turning pydantic's report into one line per bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            variable = ENV_PREFIX + field.upper()
            given = error.get("input")
            problems.append(f"{variable}={given!r}: {error['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None

"""Every service's database opened in one process: what the CLI, the benchmark and tests drive directly."""

from __future__ import annotations

from pathlib import Path

from gateway.sandbox.ports import LocalTenantPort
from gateway.sandbox.service import TenantService
from openbank_kit.db import SERVICES, Database
from openbank_kit.migrations import upgrade
from openbank_kit.settings import KitSettings


def _service_module(service: str):
    import importlib

    package = "gateway" if service == "gateway" else f"services.{service}"
    return importlib.import_module(f"{package}.app"), importlib.import_module(f"{package}.models")


class LocalStack:
    def __init__(self, settings: KitSettings):
        self.settings = settings
        self.databases = {service: Database(service, settings) for service in SERVICES}

    def migrations_dir(self, service: str) -> Path:
        return _service_module(service)[0].MIGRATIONS_DIR

    def check_reachable(self) -> None:
        for db in self.databases.values():
            db.check_reachable()

    def migrate(self) -> None:
        for service, db in self.databases.items():
            upgrade(db, self.migrations_dir(service))

    def ports(self) -> list[LocalTenantPort]:
        return [
            LocalTenantPort(service, db, _service_module(service)[1].TENANT_TABLES)
            for service, db in self.databases.items()
        ]

    def tenant_service(self) -> TenantService:
        return TenantService(self.databases["gateway"], self.ports(), self.settings)

    def dispose(self) -> None:
        for db in self.databases.values():
            db.dispose()

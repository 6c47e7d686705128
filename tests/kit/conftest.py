"""Shared fixtures for openbank_kit tests: the OBIE error schema, and log output captured per test."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SPEC_DIR = (
    Path(__file__).resolve().parents[2] / "standards" / "obie-v4.0"
)  # vendored copy of ../shared/standards


@pytest.fixture(scope="session")
def validate_obie_error() -> Callable[[Any], None]:
    """Validate a body against OBErrorResponse1 from the official v4.0 AIS OpenAPI file, $refs resolved."""
    document = yaml.safe_load((SPEC_DIR / "account-info-openapi.yaml").read_text(encoding="utf-8"))
    # The whole document is the root resource, so '#/components/schemas/...' refs resolve inside it.
    schema = {"$ref": "#/components/schemas/OBErrorResponse1", "components": document["components"]}
    validator = jsonschema.Draft7Validator(schema)

    def validate(body: Any) -> None:
        validator.validate(body)

    return validate


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """configure_logging() into a buffer; our root handler is removed again afterwards."""
    from openbank_kit.logging import configure_logging

    stream = io.StringIO()
    configure_logging("kit-test", "INFO", json=True, stream=stream)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_openbank_log_handler", False)]:
        root.removeHandler(handler)

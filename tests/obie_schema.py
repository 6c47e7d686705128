"""Validate response bodies against the official OBIE v4.0 OpenAPI files (never hand-copied schemas).

Generic over the vendored files in standards/obie-v4.0/: pick the spec by name, then validate a body for a
(path template, method, status). `$ref`s are resolved by jsonschema's referencing registry against the whole
OpenAPI document; OpenAPI 3.0's `nullable` is honoured by rewriting it to a JSON-Schema type union.

    from tests.obie_schema import assert_obie_response
    assert_obie_response("account-info", "/accounts/{AccountId}", "get", response)
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

STANDARDS_DIR = Path(__file__).resolve().parents[1] / "standards" / "obie-v4.0"
_BASE_URI = "urn:obie:"


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 Schema Objects are JSON Schema draft 4 plus `nullable`; drop the rest of the dialect."""
    if isinstance(node, dict):
        out = {key: _openapi_to_jsonschema(value) for key, value in node.items() if key != "example"}
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_openapi_to_jsonschema(value) for value in node]
    return node


@functools.cache
def load_spec(name: str) -> dict:
    """`name` is the file stem, e.g. "account-info" for account-info-openapi.yaml."""
    with open(STANDARDS_DIR / f"{name}-openapi.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.cache
def _registry(name: str) -> Registry:
    document = _openapi_to_jsonschema(copy.deepcopy(load_spec(name)))
    resource = Resource.from_contents(document, default_specification=DRAFT4)
    return Registry().with_resource(_BASE_URI + name, resource)


def _resolve(name: str, node: dict) -> dict:
    spec = load_spec(name)
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(name: str, path: str, method: str, status: int | str) -> dict | None:
    """The JSON schema of the response body (a `$ref` into the document), or None when it has no body."""
    operation = load_spec(name)["paths"][path][method.lower()]
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        raise AssertionError(f"{method.upper()} {path} does not document status {status}")
    response = _resolve(name, response)
    content = response.get("content")
    if not content:
        return None
    media = content.get("application/json; charset=utf-8") or next(iter(content.values()))
    return media["schema"]


def schema_by_name(name: str, component: str) -> dict:
    """A `$ref` schema for a named component, e.g. "OBReadConsent1" (to validate request bodies too)."""
    return {"$ref": f"#/components/schemas/{component}"}


def validate_body(name: str, schema: dict, body: Any) -> list[str]:
    """Every schema violation as "<json path>: <message>"; empty when the body is valid."""
    wrapped = {"$ref": _BASE_URI + name + schema["$ref"]} if "$ref" in schema else schema
    validator = Draft4Validator(wrapped, registry=_registry(name), format_checker=FormatChecker())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    ]


def assert_obie_body(name: str, path: str, method: str, status: int, body: Any) -> None:
    schema = response_schema(name, path, method, status)
    if schema is None:
        assert body in (None, b"", ""), f"{method.upper()} {path} {status} has no body in the spec"
        return
    problems = validate_body(name, schema, body)
    assert not problems, f"{method.upper()} {path} {status} does not match the OBIE schema:\n" + "\n".join(
        problems[:20]
    )


def assert_obie_response(name: str, path: str, method: str, response) -> None:
    """Validate an httpx/TestClient response (status and body) against the spec for `path` (a template)."""
    body = response.json() if response.content else None
    assert_obie_body(name, path, method, response.status_code, body)

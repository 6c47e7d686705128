"""The combined OpenAPI document and the Swagger UI page with local assets."""

from __future__ import annotations

import json
import re

from gateway.sandbox.openapi_api import _merge_service


def test_the_combined_document_has_every_public_api_and_no_internal_route(stack):
    response = stack.gateway.get("/sandbox/v1/openapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    paths = document["paths"]
    for expected in ("/open-banking/v4.0/pisp/domestic-payments", "/lending/v1/applications",
                     "/open-banking/v4.0/aisp/accounts", "/open-banking/v4.0/cbpii/funds-confirmations",
                     "/open-banking/v4.0/event-subscriptions", "/billpay/v1/billers",
                     "/sandbox/v1/tenants", "/sandbox/v1/personas/{username}/consents", "/oauth2/token"):  # fmt: skip
        assert expected in paths, expected
    assert not [p for p in paths if p.startswith("/internal/") or p == "/whoami"]
    assert document["servers"] == [{"url": stack.settings.issuer}]
    assert "x-unavailable-services" not in document["info"]
    assert paths["/lending/v1/applications"]["post"]["tags"] == ["loans"]
    # Every reference resolves inside the merged document.
    text = json.dumps(document)
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in document["components"]["schemas"], name
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()
                     if isinstance(op, dict) and "operationId" in op]  # fmt: skip
    assert len(operation_ids) == len(set(operation_ids))


def test_a_schema_name_defined_differently_by_a_service_is_prefixed_and_its_references_follow():
    merged = {"paths": {}, "components": {"schemas": {"Amount": {"type": "string"}}}}
    service_doc = {
        "paths": {"/lending/v1/x": {"get": {"operationId": "x", "responses": {"200": {"content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Amount"}}}}}}},
                  "/internal/v1/y": {"get": {}}},
        "components": {"schemas": {"Amount": {"type": "object"}, "AmountList": {"type": "array"}}},
    }  # fmt: skip
    _merge_service(merged, "loans", service_doc)
    assert set(merged["paths"]) == {"/lending/v1/x"}
    schemas = merged["components"]["schemas"]
    assert schemas["Amount"] == {"type": "string"} and schemas["loans_Amount"] == {"type": "object"}
    assert schemas["AmountList"] == {"type": "array"}  # same prefix, other name: untouched
    operation = merged["paths"]["/lending/v1/x"]["get"]
    assert operation["operationId"] == "loans_x"
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/loans_Amount"


def test_the_api_reference_page_loads_swagger_ui_from_local_files(stack):
    page = stack.gateway.get("/portal/api-reference")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/sandbox/v1/openapi.json" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/portal/static/swagger/") for a in assets), assets
    assert "cdn" not in page.text.lower()
    for asset in assets:
        got = stack.gateway.get(asset)
        assert got.status_code == 200 and len(got.content) > 0, asset
    assert "SwaggerUIBundle" in stack.gateway.get("/portal/static/swagger/swagger-ui-bundle.js").text
    assert stack.gateway.get("/portal/static/swagger/nothing.js").status_code == 404

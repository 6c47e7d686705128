"""Where the authorization server asks about consents (intents): the service that owns them.

Contract each owning service implements (Accounts, Payments, Lending issues):
`GET /internal/v1/tenants/{tenant_id}/consents/{consent_id}` → 200 `{"Data": {"ConsentId", "ClientId", "Status", ...}}`
or 404 when the tenant has no such consent.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error

from openbank_kit.http_client import ServiceCallError, ServiceClient

OWNER_OF_SCOPE = {
    "accounts": "accounts",
    "payments": "payments",
    "fundsconfirmations": "payments",
    "lending": "loans",
}


class TemporarilyUnavailableError(OAuth2Error):
    error = "temporarily_unavailable"
    status_code = 503


class IntentDirectory:
    def __init__(self, clients: dict[str, ServiceClient]):
        self.clients = clients

    def __call__(self, tenant_id: str, intent_id: str, scope: str) -> dict | None:
        service = OWNER_OF_SCOPE[scope]
        try:
            response = self.clients[service].get(f"/internal/v1/tenants/{tenant_id}/consents/{intent_id}")
        except ServiceCallError:
            raise TemporarilyUnavailableError(
                f"the {service} service cannot confirm the consent now"
            ) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TemporarilyUnavailableError(f"the {service} service cannot confirm the consent now")
        return response.json().get("Data")

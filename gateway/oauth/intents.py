"""Where the authorization server asks about consents (intents): the service that owns them.

The contract every owning service implements is written down in docs/internal-api.md: read a consent, record the
customer's decision on it, and (accounts) list a customer's accounts for the consent page.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class DecisionRefused(Exception):
    """The owning service would not record the decision: 400 bad account choice, 403 foreign, 409 not AWAU."""

    status_code: int
    message: str


class IntentDirectory:
    def __init__(self, clients: dict[str, ServiceClient]):
        self.clients = clients

    def __call__(self, tenant_id: str, intent_id: str, scope: str) -> dict | None:
        """The owning service's view of the consent (its `Data`), or None when the tenant has no such consent."""
        response = self._call(
            OWNER_OF_SCOPE[scope], "GET", f"/internal/v1/tenants/{tenant_id}/consents/{intent_id}"
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise TemporarilyUnavailableError(
                f"the {OWNER_OF_SCOPE[scope]} service cannot confirm the consent now"
            )
        return response.json().get("Data")

    def decide(
        self,
        tenant_id: str,
        intent_id: str,
        scope: str,
        *,
        client_id: str,
        customer_id: str,
        approve: bool,
        account_ids: list[str] | None,
    ) -> dict:
        """Record the customer's approval or denial at the owning service; its updated view of the consent."""
        body = {
            "ClientId": client_id,
            "CustomerId": customer_id,
            "Decision": "approve" if approve else "deny",
            "AccountIds": account_ids,
        }
        service = OWNER_OF_SCOPE[scope]
        path = f"/internal/v1/tenants/{tenant_id}/consents/{intent_id}/authorisation"
        response = self._call(service, "POST", path, body)
        if response.status_code == 200:
            return response.json().get("Data")
        if response.status_code in (400, 403, 404, 409):
            raise DecisionRefused(response.status_code, _message_of(response))
        raise TemporarilyUnavailableError(f"the {service} service cannot record the decision now")

    def customer_accounts(self, tenant_id: str, customer_id: str) -> list[dict]:
        """The customer's accounts as the consent page lists them."""
        response = self._call(
            "accounts", "GET", f"/internal/v1/tenants/{tenant_id}/customers/{customer_id}/accounts"
        )
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise TemporarilyUnavailableError("the accounts service cannot list the customer's accounts now")
        return response.json().get("Data", {}).get("Account", [])

    def _call(self, service: str, method: str, path: str, body: dict | None = None):
        try:
            if method == "GET":
                return self.clients[service].get(path)
            return self.clients[service].post(path, json=body)
        except ServiceCallError:
            raise TemporarilyUnavailableError(f"the {service} service is not answering") from None


def _message_of(response) -> str:
    try:
        errors = response.json().get("Errors") or []
        return "; ".join(error.get("Message", "") for error in errors) or response.text[:200]
    except ValueError:
        return response.text[:200]

"""The sandbox's view of one persona across the services (docs/sandbox-api.md): accounts, bureau summary, and the
consents the persona decided, with revocation at the bank. Every read goes through the services' internal APIs.

Revocation: the owning service moves the consent to CANC (accounts: its existing revocation; payments and loans:
`POST .../consents/{id}/revocation`, AUTH or AWAU only); tokens for it stop opening data because every resource
call and every refresh checks the consent is AUTH. The consent-authorization-revoked event: accounts publishes its
own (services/accounts/consent_events.py); for payment and lending consents the gateway publishes it to payments'
event API after the revocation committed, best effort with the same stable EventId (`<consent id>-REVOKED`), so a
second revocation republishes without a duplicate.
"""

from __future__ import annotations

import structlog

from openbank_kit.errors import Conflict, NotFound, ServiceUnavailable
from openbank_kit.http_client import ServiceCallError, ServiceClient
from sandbox_data import PERSONAS
from sandbox_data.personas import Persona

logger = structlog.get_logger("openbank.gateway.sandbox")
CONSENT_SERVICES = ("accounts", "payments", "loans")
REVOKED_EVENT = "urn:uk:org:openbanking:events:consent-authorization-revoked"
# Kind → (public collection the consent lives in, its OBIE resource type). Accounts publishes its own events.
CONSENT_RESOURCES = {
    "account-access": ("/open-banking/v4.0/aisp/account-access-consents", "account-access-consents"),
    "domestic-payment": ("/open-banking/v4.0/pisp/domestic-payment-consents", "domestic-payment-consents"),
    "funds-confirmation": (
        "/open-banking/v4.0/cbpii/funds-confirmation-consents",
        "funds-confirmation-consents",
    ),
    "loan-application": ("/lending/v1/loan-application-consents", "loan-application-consents"),
}
PERSONAS_BY_USERNAME = {persona.username: persona for persona in PERSONAS}


def persona_named(username: str) -> Persona:
    persona = PERSONAS_BY_USERNAME.get(username)
    if persona is None:
        raise NotFound(message=f"no persona {username!r}; GET /sandbox/v1/personas lists them")
    return persona


def persona_body(persona: Persona) -> dict:
    return {
        "Username": persona.username,
        "CustomerId": persona.customer_id,
        "DisplayName": persona.display_name,
        "Summary": persona.summary_en,
        "ExpectedOutcome": persona.expected_outcome,
    }


class CustomerView:
    def __init__(self, clients: dict[str, ServiceClient], oauth_clients, issuer: str):
        self.clients, self.oauth_clients, self.issuer = clients, oauth_clients, issuer

    # --- reads ---------------------------------------------------------------------------------------------
    def persona_detail(self, tenant_id: str, username: str) -> dict:
        persona = persona_named(username)
        base = f"/internal/v1/tenants/{tenant_id}/customers/{persona.customer_id}"
        listed = self._get("accounts", f"{base}/accounts", missing_ok=True)
        accounts = []
        for account in (listed or {}).get("Data", {}).get("Account", []):
            balance = self._get(
                "accounts", f"/internal/v1/tenants/{tenant_id}/accounts/{account['AccountId']}/balance"
            )
            accounts.append({
                "AccountId": account["AccountId"], "AccountNumber": account["Identification"],
                "Class": account["AccountClass"], "Currency": account["Currency"], "Status": account["Status"],
                "Nickname": account.get("Nickname"), "Balance": balance["Balance"],
                "AvailableBalance": balance["AvailableBalance"],
            })  # fmt: skip
        bureau = self._get("loans", f"{base}/bureau", missing_ok=True)
        return {
            "Data": {
                "Persona": [
                    {
                        **persona_body(persona),
                        "Accounts": accounts,
                        "Bureau": bureau["Data"]["Bureau"] if bureau else None,
                    }
                ]  # fmt: skip
            }
        }

    def consents(self, tenant_id: str, username: str) -> dict:
        persona = persona_named(username)
        rows: list[dict] = []
        for service in CONSENT_SERVICES:
            answer = self._get(
                service,
                f"/internal/v1/tenants/{tenant_id}/customers/{persona.customer_id}/consents",
                missing_ok=True,
            )
            rows += (answer or {}).get("Data", {}).get("Consent", [])
        names: dict[str, str | None] = {}
        for row in rows:
            if row["ClientId"] not in names:
                client = self.oauth_clients.get(row["ClientId"])
                own = client is not None and client.tenant_id == tenant_id
                names[row["ClientId"]] = (client.client_metadata or {}).get("client_name") if own else None
            row["ClientName"] = names[row["ClientId"]]
        rows.sort(key=lambda row: (row["CreationDateTime"] or "", row["ConsentId"]), reverse=True)
        return {"Data": {"Consent": rows}}

    # --- revocation ----------------------------------------------------------------------------------------
    def revoke(self, tenant_id: str, username: str, consent_id: str) -> dict:
        """The persona withdraws one of their consents at the bank → CANC. Not theirs (or unknown) → 404."""
        persona = persona_named(username)
        found = next(
            (
                row
                for row in self.consents(tenant_id, username)["Data"]["Consent"]
                if row["ConsentId"] == consent_id
            ),
            None,
        )
        if found is None:
            raise NotFound(message=f"{username} has no consent {consent_id} in this tenant")
        service = self._owner(found["Kind"])
        path = f"/internal/v1/tenants/{tenant_id}/consents/{consent_id}/revocation"
        response = self._call(service, "POST", path, {"CustomerId": persona.customer_id}, retry_safe=True)
        if response.status_code in (403, 404):
            raise NotFound(message=f"{username} has no consent {consent_id} in this tenant")
        if response.status_code == 409:
            raise Conflict(message=_message_of(response))
        if response.status_code != 200:
            raise ServiceUnavailable(message=f"the {service} service could not revoke the consent now")
        if (
            service != "accounts"
        ):  # payments and loans answer with the dashboard row; accounts publishes itself
            revoked = response.json()["Data"]
            self._publish_revoked(tenant_id, revoked)
        else:
            revoked = {**found, "Status": response.json()["Data"]["Status"]}
        revoked["ClientName"] = found["ClientName"]
        return {"Data": {"Consent": [revoked]}}

    def _publish_revoked(self, tenant_id: str, consent: dict) -> bool:
        """Best effort after the revocation committed: a failure is logged, never fails the revocation."""
        if consent["Status"] != "CANC":
            return False
        collection, resource_type = CONSENT_RESOURCES[consent["Kind"]]
        consent_id = consent["ConsentId"]
        body = {"EventId": f"{consent_id}-REVOKED", "ClientId": consent["ClientId"], "EventType": REVOKED_EVENT,
                "Subject": {"ResourceId": consent_id, "ResourceType": resource_type,
                            "ResourceLinks": [{"Version": "4.0", "Link": f"{self.issuer}{collection}/{consent_id}"}]},
                "OccurredAt": consent["StatusUpdateDateTime"]}  # fmt: skip
        try:
            response = self.clients["payments"].post(
                f"/internal/v1/tenants/{tenant_id}/events", json=body, idempotency_key=body["EventId"]
            )
        except ServiceCallError as exc:
            logger.warning(
                "consent_event_not_published", tenant_id=tenant_id, consent_id=consent_id, reason=exc.reason
            )
            return False
        if response.status_code not in (200, 201):
            logger.warning("consent_event_not_published", tenant_id=tenant_id, consent_id=consent_id,
                           status=response.status_code)  # fmt: skip
            return False
        return True

    # --- plumbing ------------------------------------------------------------------------------------------
    @staticmethod
    def _owner(kind: str) -> str:
        return {"account-access": "accounts", "loan-application": "loans"}.get(kind, "payments")

    def _call(self, service: str, method: str, path: str, body: dict | None = None, retry_safe: bool = False):
        # A revocation may be retried: revoking a CANC consent again changes nothing.
        key = f"sandbox-{method}-{path.rsplit('/', 2)[-2]}" if retry_safe else None
        try:
            return self.clients[service].request(method, path, json=body, idempotency_key=key)
        except ServiceCallError:
            raise ServiceUnavailable(message=f"the {service} service is not reachable") from None

    def _get(self, service: str, path: str, *, missing_ok: bool = False) -> dict | None:
        response = self._call(service, "GET", path)
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise ServiceUnavailable(message=f"the {service} service answered {response.status_code}")
        return response.json()


def _message_of(response) -> str:
    try:
        return (
            "; ".join(e.get("Message", "") for e in response.json().get("Errors") or [])
            or response.text[:200]
        )
    except ValueError:
        return response.text[:200]

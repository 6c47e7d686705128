"""The shop's side of the bank: its registration, app tokens, the event subscription and webhook verification.

Everything goes through the bank's public gateway with the `fapi2` profile (examples/fapi2_client.py does the
OAuth: PAR, private_key_jwt, DPoP). Nothing here knows the bank's internals.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from authlib.integrations.base_client.errors import OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from examples.fapi2_client import Fapi2Client

log = logging.getLogger("partner_shop.bank")
TOKEN_MARGIN_S = 30  # renew an app token this long before it expires
SET_TYPE = "secevent+jwt"


class BankError(Exception):
    """The bank said no; `message` is what the shop shows, `code`/`status` what the bank answered."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code

    @classmethod
    def from_response(cls, response: httpx.Response, doing: str) -> BankError:
        """The OBIE error body (`Code`, `Message`, `Errors[]`) or an OAuth error, said in one line."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        errors = body.get("Errors") or []
        detail = "; ".join(f"{e.get('ErrorCode')}: {e.get('Message')}" for e in errors) or body.get(
            "error_description", body.get("Message", response.text[:200])
        )
        code = errors[0].get("ErrorCode") if errors else body.get("error", body.get("Code"))
        return cls(
            f"{doing}: the bank answered {response.status_code} ({detail})", response.status_code, code
        )


@dataclass(frozen=True)
class ShopConfig:
    issuer: str  # the bank's gateway, e.g. http://127.0.0.1:8000
    initial_access_token: str  # the tenant's, to register the app once
    base_url: str  # where this shop is reachable, e.g. http://127.0.0.1:8400
    state_dir: Path  # the saved registration lives here
    merchant_account: str  # the merchant's corporate account at the bank (19 digits)
    merchant_name: str
    # An app made elsewhere (the developer portal): use it instead of registering one.
    client_id: str | None = None
    client_key: ECKey | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"  # loopback http is allowed for fapi2


class Bank:
    """The shop's registered app at the bank."""

    def __init__(self, config: ShopConfig, client: Fapi2Client):
        self.config = config
        self.client = client
        self.issuer = client.issuer
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._jwks: KeySet | None = None

    # --- start-up ------------------------------------------------------------------------------------------
    @classmethod
    def connect(cls, config: ShopConfig) -> Bank:
        """Use the configured app, or load the saved registration, or register (RFC 7591) with new keys and save it."""
        if (
            config.client_id and config.client_key
        ):  # its redirect URI must be our /callback (the portal's form)
            log.info("using the configured app %s", config.client_id)
            return cls(config, Fapi2Client(config.issuer, config.client_id, config.client_key))
        path = config.state_dir / "registration.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if saved["issuer"] == config.issuer and saved["redirect_uri"] == config.redirect_uri:
                client = Fapi2Client(config.issuer, saved["client_id"], ECKey.import_key(saved["client_key"]))
                bank = cls(config, client)
                try:
                    bank.app_token(
                        "payments"
                    )  # still known to the bank (a var/ wiped elsewhere would say no)
                    log.info("loaded registration %s", saved["client_id"])
                    return bank
                except (OAuthError, httpx.HTTPError):  # unknown client (e.g. the bank's var/ was wiped)
                    log.warning("saved registration %s refused, registering again", saved["client_id"])
        client, registration = Fapi2Client.register(
            config.issuer,
            config.initial_access_token,
            f"{config.merchant_name} (demo shop)",
            [config.redirect_uri],
        )
        config.state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"issuer": config.issuer, "redirect_uri": config.redirect_uri,
                                    "client_id": client.client_id,
                                    "client_key": client.client_key.as_dict(private=True)}))  # fmt: skip
        path.chmod(0o600)  # it holds the private key
        log.info("registered client %s", registration["client_id"])
        return cls(config, client)

    def subscribe_to_events(self) -> None:
        """One event subscription per app (OBIE Events): ours pushes to /webhooks/event-notifications."""
        url = f"{self.issuer}/open-banking/v4.0/event-subscriptions"
        callback = f"{self.config.base_url}/webhooks"  # the bank appends /event-notifications
        body = {"Data": {"Version": "4.0", "CallbackUrl": callback}}
        created = self.client.call("POST", url, self.app_token("payments"), body)
        if created.status_code == 201:
            return
        if created.status_code != 409:  # 409: we subscribed on an earlier start; point it at us again
            raise BankError.from_response(created, "subscribing to events")
        listed = self.client.call("GET", url, self.app_token("payments"))
        for sub in listed.json()["Data"]["EventSubscription"]:
            replaced = self.client.call("PUT", f"{url}/{sub['EventSubscriptionId']}", self.app_token("payments"),
                                        {"Data": {**body["Data"], "EventSubscriptionId": sub["EventSubscriptionId"]}})  # fmt: skip
            if replaced.status_code != 200:
                raise BankError.from_response(replaced, "updating the event subscription")

    # --- calls ---------------------------------------------------------------------------------------------
    def app_token(self, scope: str) -> str:
        """A client-credentials token for `scope`, reused until shortly before it expires."""
        with self._lock:
            token, expires_at = self._tokens.get(scope, ("", 0.0))
            if time.monotonic() < expires_at:
                return token
            fetched = self.client.client_credentials(scope)
            self._tokens[scope] = (
                fetched["access_token"],
                time.monotonic() + fetched["expires_in"] - TOKEN_MARGIN_S,
            )
            return fetched["access_token"]

    def call(self, method: str, path: str, token: str, body: dict | None = None, key: str | None = None,
             doing: str = "calling the bank", expect: int = 200) -> dict:  # fmt: skip
        """A DPoP-bound call through the gateway; the JSON body, or BankError with what the bank said."""
        response = self.client.call(method, f"{self.issuer}{path}", token, body, idempotency_key=key)
        if response.status_code != expect:
            raise BankError.from_response(response, doing)
        return response.json() if response.content else {}

    # --- webhooks ------------------------------------------------------------------------------------------
    def verify_event(self, set_jwt: str) -> dict:
        """Verify a pushed Security Event Token with the bank's JWKS; its claims, or ValueError."""
        for attempt in range(2):  # a key we do not know yet: fetch the JWKS once more (the bank rotates keys)
            if self._jwks is None or attempt:
                self._jwks = KeySet.import_key_set(self.client.http.get(self.client.meta["jwks_uri"]).json())
            try:
                token = jwt.decode(set_jwt, self._jwks, algorithms=["ES256", "PS256"])
                break
            except (JoseError, ValueError) as exc:
                if attempt:
                    raise ValueError(f"SET signature not verified: {exc}") from exc
        if token.header.get("typ") != SET_TYPE:
            raise ValueError("not a security event token")
        claims = token.claims
        if claims.get("iss") != self.issuer or claims.get("aud") != self.client.client_id:
            raise ValueError("SET for another issuer or audience")
        return claims


def load_client_key(text: str) -> ECKey:
    """The app's private key as the portal offers it: a private JWK (JSON) or a PKCS#8 PEM.

    The portal generates P-256 keys with the key's RFC 7638 thumbprint as `kid`; a PEM carries no kid, so it gets
    that thumbprint too and the assertion names the registered key."""
    text = text.strip()
    key = ECKey.import_key(json.loads(text) if text.startswith("{") else text)
    if not key.is_private:
        raise ValueError("SHOP_CLIENT_KEY_FILE holds a public key: the app's private key is needed")
    if not key.kid:
        key = ECKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})
    return key


RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
CONSENT_REVOKED = "urn:uk:org:openbanking:events:consent-authorization-revoked"


def subjects(claims: dict) -> list[tuple[str, str, str]]:
    """(event type, resource type, resource id) for each event in an OBIE SET, e.g. a resource-update of
    `domestic-payments` with its DomesticPaymentId, or a consent-authorization-revoked with the ConsentId."""
    found = []
    for event_type, event in claims.get("events", {}).items():
        subject = event.get("subject", {})
        found.append((event_type, subject.get("http://openbanking.org.uk/rty", ""),
                      subject.get("http://openbanking.org.uk/rid", "")))  # fmt: skip
    return found

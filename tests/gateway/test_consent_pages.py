"""The consent journey in HTML (the browser's path through /oauth2/authorize) and with a consent (intent) owned by a
service: what the page shows, what reaches the owning service, and what the tokens carry."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from gateway.oauth.intents import DecisionRefused
from loadtests.partner import ISSUER, Partner, pkce_pair
from tests.gateway.test_authorization_code import authorization_url, exchange, headless, push, redirect_params

REDIRECT = "https://tpp.example/callback"


def basic_client(stack, tenant_token: str) -> tuple[str, str]:
    metadata = {"client_name": "课堂演示 Classroom", "token_endpoint_auth_method": "client_secret_basic",
                "redirect_uris": [REDIRECT]}  # fmt: skip
    body = stack.gateway.post(
        "/oauth2/register", json=metadata, headers={"Authorization": f"Bearer {tenant_token}"}
    ).json()
    return body["client_id"], body["client_secret"]


def browser_sign_in(stack, url: str, *, lang: str | None = None, password: str = "sandbox"):
    """GET the authorize URL like a browser, sign in; the consent page response and the interaction path."""
    started = stack.gateway.get(
        url.removeprefix(ISSUER) + (f"&lang={lang}" if lang else ""), follow_redirects=False
    )
    assert started.status_code == 303, started.text
    page_path = started.headers["location"]
    sign_in_page = stack.gateway.get(page_path)
    assert sign_in_page.status_code == 200 and 'name="otp"' in sign_in_page.text
    csrf = sign_in_page.text.split('name="csrf" value="')[1].split('"')[0]
    interaction = urlsplit(page_path).path
    signed = stack.gateway.post(
        interaction + "/sign-in",
        data={
            "csrf": csrf,
            "username": "zhang.wei",
            "password": password,
            "otp": "123456",
            "lang": lang or "zh",
        },
        follow_redirects=False,
    )
    return signed, interaction, csrf


def test_a_sandbox_basic_client_goes_through_the_html_pages_without_par(stack, tenant):
    client_id, secret = basic_client(stack, tenant[1])
    verifier, challenge = pkce_pair()
    query = {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid",
             "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    signed, interaction, csrf = browser_sign_in(stack, f"{ISSUER}/oauth2/authorize?{urlencode(query)}")
    assert signed.status_code == 303
    consent = stack.gateway.get(interaction)
    assert consent.status_code == 200 and "课堂演示 Classroom" in consent.text and "同意授权" in consent.text
    assert consent.headers["x-frame-options"] == "DENY" and consent.headers["cache-control"] == "no-store"
    decided = stack.gateway.post(
        interaction + "/decision", data={"csrf": csrf, "decision": "approve"}, follow_redirects=False
    )
    assert decided.status_code == 303
    params = {k: v[0] for k, v in parse_qs(urlsplit(decided.headers["location"]).query).items()}
    assert params["state"] == "xyz" and params["iss"] == ISSUER
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = stack.gateway.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "Bearer" and "id_token" in token.json()


def test_the_pages_speak_english_when_asked(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    url = authorization_url(registered_partner.client_id, push(stack, registered_partner, challenge))
    signed, interaction, _ = browser_sign_in(stack, url, lang="en")
    page = stack.gateway.get(signed.headers["location"])
    assert "Approve" in page.text and "is asking for access" in page.text and 'lang="en"' in page.text


def test_a_wrong_password_shows_the_sign_in_page_again(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    url = authorization_url(registered_partner.client_id, push(stack, registered_partner, challenge))
    signed, _, _ = browser_sign_in(stack, url, password="wrong")
    assert signed.status_code == 401 and 'id="error"' in signed.text and 'name="otp"' in signed.text


def test_a_decision_without_the_browsers_secret_is_refused(stack, tenant, registered_partner):
    _, challenge = pkce_pair()
    url = authorization_url(registered_partner.client_id, push(stack, registered_partner, challenge))
    _, interaction, csrf = browser_sign_in(stack, url)
    stack.gateway.cookies.clear()  # a cross-site post carries no cookie
    forged = stack.gateway.post(
        interaction + "/decision", data={"csrf": csrf, "decision": "approve"}, follow_redirects=False
    )
    assert forged.status_code == 400 and "location" not in forged.headers


@pytest.mark.parametrize(
    ("overrides", "hint"),
    [
        ({"code_challenge_method": "plain"}, "S256"),
        ({"code_challenge": None, "code_challenge_method": None}, "code_challenge"),
        ({"response_type": "code id_token"}, "response_type"),
        ({"response_type": "token"}, "response_type"),
        ({"redirect_uri": "https://tpp.example/unregistered"}, "redirect_uri"),
    ],
)
def test_a_bad_authorization_request_is_shown_an_error_and_never_redirected(stack, tenant, overrides, hint):
    client_id, _ = basic_client(stack, tenant[1])
    _, challenge = pkce_pair()
    query = {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid",
             "code_challenge": challenge, "code_challenge_method": "S256", **overrides}  # fmt: skip
    query = {k: v for k, v in query.items() if v is not None}
    page = stack.gateway.get("/oauth2/authorize?" + urlencode(query), follow_redirects=False)
    assert page.status_code == 400 and "location" not in page.headers
    assert hint in page.text


class FakeOwningService:
    """Stands in for the service that owns a consent, speaking the internal contract of docs/internal-api.md."""

    def __init__(self, real, client_id: str, kind: str = "account-access", status: str = "AWAU"):
        self.real, self.decisions = real, []
        self.consent = {"ConsentId": "aac-test-1", "ClientId": client_id, "Status": status, "Kind": kind,
                        "AccountSelection": "many", "Details": {"Permissions": ["ReadAccountsDetail", "ReadBalances"]}}  # fmt: skip
        self.refuse: DecisionRefused | None = None

    def __call__(self, tenant_id, intent_id, scope):
        return dict(self.consent) if intent_id == self.consent["ConsentId"] else None

    def decide(self, tenant_id, intent_id, scope, *, client_id, customer_id, approve, account_ids):
        if self.refuse:
            raise self.refuse
        self.decisions.append((client_id, customer_id, approve, account_ids))
        self.consent["Status"] = "AUTH" if approve else "RJCT"
        return dict(self.consent)

    def customer_accounts(self, tenant_id, customer_id):
        return [{"AccountId": "acc-1", "Identification": "6230580000000001234", "Name": "张伟", "Nickname": "工资卡",
                 "AccountClass": "I", "Currency": "CNY", "AvailableBalance": {"Amount": "8800.00", "Currency": "CNY"}},
                {"AccountId": "acc-2", "Identification": "6230580000000005678", "Name": "张伟", "Nickname": "电子账户",
                 "AccountClass": "II", "Currency": "CNY"}]  # fmt: skip


@pytest.fixture
def owning_service(stack, registered_partner, monkeypatch):
    fake = FakeOwningService(stack.gateway.app.state.oauth.lookup_intent, registered_partner.client_id)
    monkeypatch.setattr(stack.gateway.app.state.oauth, "lookup_intent", fake)
    return fake


def test_the_consent_page_shows_permissions_and_accounts_and_the_choice_reaches_the_owner(
    stack, tenant, registered_partner, owning_service
):
    verifier, challenge = pkce_pair()
    request_uri = push(
        stack, registered_partner, challenge, scope="openid accounts", openbanking_intent_id="aac-test-1"
    )
    signed, interaction, csrf = browser_sign_in(
        stack, authorization_url(registered_partner.client_id, request_uri)
    )
    page = stack.gateway.get(interaction)
    assert "账户名称、类型与账号" in page.text and "账户余额" in page.text  # permissions in plain language
    assert "工资卡" in page.text and "****1234" in page.text and "6230580000000001234" not in page.text
    decided = stack.gateway.post(
        interaction + "/decision",
        data={"csrf": csrf, "decision": "approve", "account_id": ["acc-2"]},
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    client_id, customer_id, approve, accounts = owning_service.decisions[0]
    assert (client_id, approve, accounts) == (registered_partner.client_id, True, ["acc-2"]) and customer_id
    code = parse_qs(urlsplit(decided.headers["location"]).query)["code"][0]
    token = exchange(stack, registered_partner, code, verifier).json()
    from joserfc import jwt

    assert (
        jwt.decode(
            token["access_token"], stack.gateway.app.state.oauth.token_issuer.keys.verification_keys()
        ).claims["openbanking_intent_id"]
        == "aac-test-1"
    )
    id_token = jwt.decode(
        token["id_token"], stack.gateway.app.state.oauth.token_issuer.keys.verification_keys()
    )
    assert id_token.claims["openbanking_intent_id"] == "aac-test-1"

    owning_service.consent["Status"] = "CANC"  # the customer revoked it at the bank
    refresh = stack.gateway.post(
        "/oauth2/token",
        data=registered_partner.refresh_form(token["refresh_token"]),
        headers={"DPoP": registered_partner.dpop("POST", f"{ISSUER}/oauth2/token")},
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_headless_denial_is_recorded_at_the_owner(stack, tenant, registered_partner, owning_service):
    _, challenge = pkce_pair()
    request_uri = push(
        stack, registered_partner, challenge, scope="accounts", openbanking_intent_id="aac-test-1"
    )
    params = redirect_params(
        headless(
            stack, tenant[1], authorization_url(registered_partner.client_id, request_uri), decision="deny"
        )
    )
    assert params["error"] == "access_denied"
    assert owning_service.decisions[0][2] is False and owning_service.consent["Status"] == "RJCT"


def test_a_bad_account_choice_is_a_400_and_the_request_can_be_tried_again(
    stack, tenant, registered_partner, owning_service
):
    _, challenge = pkce_pair()
    url = authorization_url(
        registered_partner.client_id,
        push(stack, registered_partner, challenge, scope="accounts", openbanking_intent_id="aac-test-1"),
    )
    owning_service.refuse = DecisionRefused(400, "account acc-9 is not the customer's")
    response = headless(stack, tenant[1], url, AccountIds=["acc-9"])
    assert response.status_code == 400 and response.json()["Errors"][0]["Path"] == "$.AccountIds"


def test_a_consent_decided_meanwhile_ends_in_access_denied(stack, tenant, registered_partner, owning_service):
    _, challenge = pkce_pair()
    url = authorization_url(
        registered_partner.client_id,
        push(stack, registered_partner, challenge, scope="accounts", openbanking_intent_id="aac-test-1"),
    )
    owning_service.refuse = DecisionRefused(409, "consent aac-test-1 is EXPD")
    params = redirect_params(headless(stack, tenant[1], url))
    assert params["error"] == "access_denied" and "EXPD" in params["error_description"]


def test_a_loan_consent_needs_the_credit_inquiry_box_ticked(
    stack, tenant, registered_partner, owning_service
):
    owning_service.consent.update(
        Kind="loan-application", AccountSelection="one",
        Details={"ProductId": "quick-loan", "Amount": {"Amount": "50000.00", "Currency": "CNY"}, "TermMonths": 12,
                 "RepaymentMethod": "EQUAL_INSTALMENT", "Purpose": "家电消费"},
    )  # fmt: skip
    _, challenge = pkce_pair()
    request_uri = push(
        stack, registered_partner, challenge, scope="lending", openbanking_intent_id="aac-test-1"
    )
    _, interaction, csrf = browser_sign_in(
        stack, authorization_url(registered_partner.client_id, request_uri)
    )
    page = stack.gateway.get(interaction)
    assert "50000.00" in page.text and "等额本息" in page.text and "征信" in page.text
    unticked = stack.gateway.post(
        interaction + "/decision", data={"csrf": csrf, "decision": "approve", "account_id": "acc-1"}
    )
    assert unticked.status_code == 400 and owning_service.decisions == []
    ticked = stack.gateway.post(
        interaction + "/decision",
        data={"csrf": csrf, "decision": "approve", "account_id": "acc-1", "credit_inquiry": "yes"},
        follow_redirects=False,
    )
    assert ticked.status_code == 303 and owning_service.decisions[0][3] == ["acc-1"]


def test_another_partner_cannot_push_a_consent_it_does_not_own(stack, tenant, owning_service):
    other = Partner()
    registered = stack.gateway.post(
        "/oauth2/register", json=other.fapi2_metadata(), headers={"Authorization": f"Bearer {tenant[1]}"}
    )
    other.client_id = registered.json()["client_id"]
    _, challenge = pkce_pair()
    response = stack.gateway.post(
        "/oauth2/par",
        data=other.par_form(challenge, scope="accounts", openbanking_intent_id="aac-test-1"),
        headers={"DPoP": other.dpop("POST", f"{ISSUER}/oauth2/par")},
    )
    assert response.status_code == 400 and "another client" in response.json()["error_description"]


def test_scopes_in_another_order_are_the_same_request(stack, tenant, registered_partner, owning_service):
    verifier, challenge = pkce_pair()
    request_uri = push(
        stack, registered_partner, challenge, scope="accounts openid", openbanking_intent_id="aac-test-1"
    )
    params = redirect_params(
        headless(stack, tenant[1], authorization_url(registered_partner.client_id, request_uri))
    )
    token = exchange(stack, registered_partner, params["code"], verifier).json()
    assert set(token["scope"].split()) == {"accounts", "openid"} and "id_token" in token

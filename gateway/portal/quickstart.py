"""The quickstart's curl steps as data: the page renders them as shell commands and the tests run the very same
steps against the gateway, so what the page shows keeps working (tests/gateway/test_portal_quickstart.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shlex
from dataclasses import dataclass, field
from urllib.parse import urlencode

AISP = "/open-banking/v4.0/aisp"
PERSONA = "zhang.wei"


@dataclass(frozen=True)
class Capture:
    """Keep a value of the response as a shell variable: a JSON member, or a query parameter of a URL member."""

    variable: str
    member: str
    query_parameter: str | None = None

    def jq(self) -> str:
        if self.query_parameter is None:
            return f"jq -r .{self.member}"
        return f"jq -r '.{self.member} | capture(\"[?&]{self.query_parameter}=(?<v>[^&]+)\").v'"

    def take(self, body: dict) -> str:
        value = body
        for name in self.member.split("."):
            value = value[name]
        if self.query_parameter is None:
            return str(value)
        found = re.search(rf"[?&]{self.query_parameter}=([^&]+)", value)
        assert found, f"{self.query_parameter} missing from {value}"
        return found.group(1)


@dataclass(frozen=True)
class Step:
    title_zh: str
    title_en: str
    method: str
    path: str  # may hold $VARIABLES
    auth: tuple[str, str]  # ("basic", "$CLIENT_ID:$CLIENT_SECRET") or ("bearer", "$TOKEN")
    form: dict[str, str] | None = None
    json_body: dict | None = None
    capture: Capture | None = None
    expect_status: int = 200

    def curl(self) -> str:
        parts = [f'curl -s -X {self.method} "$ISSUER{self.path}"']
        kind, credential = self.auth
        if kind == "basic":
            parts.append(f'-u "{credential}"')
        else:
            parts.append(f'-H "Authorization: Bearer {credential}"')
        for name, value in (self.form or {}).items():
            parts.append(f'--data-urlencode "{name}={value}"')
        if self.json_body is not None:
            # Double quotes outside so the shell fills in $VARIABLES; the JSON's own quotes are escaped.
            body = json.dumps(self.json_body, ensure_ascii=False).replace('"', '\\"')
            parts += ['-H "Content-Type: application/json"', f'-d "{body}"']
        command = " \\\n  ".join(parts)
        if self.capture is None:
            return command + " | jq ."
        return f"{self.capture.variable}=$({command} | {self.capture.jq()})\necho ${self.capture.variable}"


@dataclass(frozen=True)
class Quickstart:
    variables: dict[str, str]
    steps: list[Step] = field(default_factory=list)

    def exports(self) -> str:
        return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in self.variables.items())


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sandbox_basic_quickstart(issuer: str, initial_access_token: str, client_id: str, client_secret: str,
                             redirect_uri: str) -> Quickstart:  # fmt: skip
    """client credentials → AISP consent → headless authorisation → code exchange → the customer's accounts."""
    verifier, challenge = pkce_pair()
    authorize_query = urlencode({
        "client_id": "$CLIENT_ID", "response_type": "code", "redirect_uri": "$REDIRECT_URI",
        "scope": "openid accounts", "openbanking_intent_id": "$CONSENT_ID", "state": "quickstart",
        "code_challenge": "$CODE_CHALLENGE", "code_challenge_method": "S256",
    }, safe="$")  # fmt: skip
    variables = {"ISSUER": issuer, "INITIAL_ACCESS_TOKEN": initial_access_token, "CLIENT_ID": client_id,
                 "CLIENT_SECRET": client_secret, "REDIRECT_URI": redirect_uri, "CODE_VERIFIER": verifier,
                 "CODE_CHALLENGE": challenge}  # fmt: skip
    steps = [
        Step("1. 应用令牌（client credentials）", "1. App token (client credentials)", "POST", "/oauth2/token",
             ("basic", "$CLIENT_ID:$CLIENT_SECRET"),
             form={"grant_type": "client_credentials", "scope": "accounts"},
             capture=Capture("APP_TOKEN", "access_token")),
        Step("2. 创建账户访问授权", "2. An account-access consent", "POST", AISP + "/account-access-consents",
             ("bearer", "$APP_TOKEN"),
             json_body={"Data": {"Permissions": ["ReadAccountsDetail", "ReadBalances"]}, "Risk": {}},
             capture=Capture("CONSENT_ID", "Data.ConsentId"), expect_status=201),
        Step(f"3. 以 {PERSONA} 身份无界面授权", f"3. Headless authorisation as {PERSONA}", "POST",
             "/sandbox/v1/authorize", ("bearer", "$INITIAL_ACCESS_TOKEN"),
             json_body={"AuthorizationUrl": f"$ISSUER/oauth2/authorize?{authorize_query}", "Username": PERSONA,
                        "Password": "sandbox", "Otp": "123456", "Decision": "approve"},
             capture=Capture("CODE", "RedirectTo", "code")),
        Step("4. 用授权码换取令牌", "4. Exchange the code", "POST", "/oauth2/token",
             ("basic", "$CLIENT_ID:$CLIENT_SECRET"),
             form={"grant_type": "authorization_code", "code": "$CODE", "redirect_uri": "$REDIRECT_URI",
                   "code_verifier": "$CODE_VERIFIER"},
             capture=Capture("ACCESS_TOKEN", "access_token")),
        Step("5. 读取客户的账户", "5. The customer's accounts", "GET", AISP + "/accounts",
             ("bearer", "$ACCESS_TOKEN")),
    ]  # fmt: skip
    return Quickstart(variables, steps)


def substitute(value, variables: dict[str, str]):
    """$NAME → its value, in strings, dicts and lists (what the shell does to the commands above)."""
    if isinstance(value, str):
        return re.sub(r"\$([A-Z_]+)", lambda m: variables[m.group(1)], value)
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value

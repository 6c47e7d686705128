"""The front door's check of every resource call: access token, tenant, DPoP binding, scope."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.oauth.rfc7009_revocation import RevocationList
from gateway.oauth.rfc9449_dpop import DPoPVerifier, InvalidDPoPProofError
from gateway.oauth.tokens import AccessTokenIssuer, InvalidAccessToken
from gateway.sandbox.service import TenantService
from openbank_kit.errors import Forbidden, NotFound, Unauthorized


@dataclass(frozen=True)
class VerifiedCall:
    claims: dict
    access_token: str


def _refused(scheme: str, error: str, description: str) -> Unauthorized:
    challenge = f'{scheme} error="{error}", error_description="{description}"'
    if scheme == "DPoP":
        challenge += ', algs="ES256 PS256 EdDSA"'
    return Unauthorized(message=description, headers={"WWW-Authenticate": challenge})


def verify_resource_call(
    *,
    authorization: str | None,
    dpop_values: list[str],
    method: str,
    url: str,
    required_scope: str | None,
    tokens: AccessTokenIssuer,
    dpop: DPoPVerifier,
    tenants: TenantService,
    revocations: RevocationList,
) -> VerifiedCall:
    scheme, _, token = (authorization or "").partition(" ")
    scheme, token = scheme.lower(), token.strip()
    if scheme not in ("dpop", "bearer") or not token:
        raise _refused("DPoP", "invalid_token", "an access token is required (Authorization: DPoP ...)")
    try:
        claims = tokens.verify(token)
    except InvalidAccessToken as exc:
        raise _refused("DPoP" if scheme == "dpop" else "Bearer", "invalid_token", str(exc)) from None
    if revocations.is_revoked(claims["jti"], claims.get("gid")):
        raise _refused(
            "DPoP" if scheme == "dpop" else "Bearer", "invalid_token", "the access token was revoked"
        )
    jkt = (claims.get("cnf") or {}).get("jkt")
    if jkt:
        if scheme != "dpop":
            raise _refused(
                "DPoP", "invalid_token", "a DPoP-bound token must be sent with Authorization: DPoP"
            )
        try:
            dpop.verify(dpop_values, method=method, url=url, access_token=token, expected_jkt=jkt)
        except InvalidDPoPProofError as exc:
            raise _refused("DPoP", "invalid_dpop_proof", exc.description) from None
    elif scheme != "bearer":
        raise _refused("DPoP", "invalid_token", "this token is not DPoP-bound: send it as Bearer")
    try:
        tenant = tenants.get_active_cached(claims["tenant"])
    except NotFound:
        raise _refused(
            "DPoP" if jkt else "Bearer", "invalid_token", "the token's tenant no longer exists"
        ) from None
    if claims["iat"] < int(tenant.tokens_valid_after.timestamp()):
        raise _refused(
            "DPoP" if jkt else "Bearer", "invalid_token", "token issued before the tenant's last reset"
        )
    if required_scope and required_scope not in claims["scope"].split():
        raise Forbidden(message=f"the access token does not carry the {required_scope} scope")
    return VerifiedCall(claims, token)

"""The OpenID Provider metadata document.

Placeholder until the authorization server lands (Gateway issue): it already names the endpoints DESIGN.md §6
fixes, and says plainly that they are not served yet.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

router = APIRouter(tags=["discovery"])


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict:
    issuer = request.app.state.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "pushed_authorization_request_endpoint": f"{issuer}/oauth2/par",
        "token_endpoint": f"{issuer}/oauth2/token",
        "registration_endpoint": f"{issuer}/oauth2/register",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "scopes_supported": ["openid", "accounts", "payments", "fundsconfirmations", "lending"],
        "x_openbank_status": "placeholder: the authorization server is not served yet (Gateway issue)",
    }

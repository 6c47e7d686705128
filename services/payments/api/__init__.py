"""Public routes (OBIE Payment Initiation: domestic payments; Confirmation of Funds) and the internal consent
contract the gateway's consent pages call. Events and bill payment are not served yet (404)."""

from services.payments.api.domestic_payments import router as domestic_payments_router
from services.payments.api.funds_confirmations import router as funds_confirmations_router
from services.payments.internal_api import router as internal_router

ROUTERS: list = [domestic_payments_router, funds_confirmations_router, internal_router]

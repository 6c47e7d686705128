"""Public routes (OBIE Payment Initiation: domestic payments; Confirmation of Funds; bill payment) and the internal consent
contract the gateway's consent pages call. Events: services/payments/events/."""

from services.payments.api.billpay import router as billpay_router
from services.payments.api.domestic_payments import router as domestic_payments_router
from services.payments.api.funds_confirmations import router as funds_confirmations_router
from services.payments.api.scheduled_payments import router as scheduled_payments_router
from services.payments.api.standing_orders import router as standing_orders_router
from services.payments.events.api import internal as events_internal_router
from services.payments.events.api import public as events_router
from services.payments.internal_api import router as internal_router

ROUTERS: list = [domestic_payments_router, funds_confirmations_router, internal_router, events_router,
                 events_internal_router, billpay_router]  # fmt: skip
ROUTERS += [scheduled_payments_router, standing_orders_router]

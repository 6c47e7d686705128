"""Public routes: OBIE v4.0 Account Information (`/open-banking/v4.0/aisp`), reached through the gateway."""

from services.accounts.api.accounts import router as accounts_router
from services.accounts.api.consents import router as consents_router

ROUTERS: list = [consents_router, accounts_router]

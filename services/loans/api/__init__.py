"""Public routes (the Lending API) and the internal consent contract the gateway's consent pages call."""

from services.loans.api.lending import router as lending_router
from services.loans.internal_api import router as internal_router

ROUTERS: list = [lending_router, internal_router]

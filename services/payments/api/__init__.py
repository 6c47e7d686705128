"""Public routes (OBIE Payment Initiation, Funds Confirmation, Events, bill payment) land here with the Payments issue."""

ROUTERS: list = []

"""Public routes (OBIE Account Information) land here with the Accounts issue."""

ROUTERS: list = []

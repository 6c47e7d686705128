"""Public routes (the Lending API) land here with the Lending issue."""

ROUTERS: list = []

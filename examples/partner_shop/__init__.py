"""美家家电商城: the partner demo shop (FastAPI + Jinja2) that embeds the bank through its public fapi2 API."""

"""`python -m examples.partner_shop`: the shop on 127.0.0.1:$SHOP_PORT (default 8400)."""

import logging
import os

import uvicorn

from examples.partner_shop.app import create_app

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(
        create_app(), host="127.0.0.1", port=int(os.environ.get("SHOP_PORT", "8400")), access_log=False
    )

"""Locust scenario: same-bank domestic payments (`POST /open-banking/v4.0/pisp/domestic-payments`) through the
gateway at a fixed rate per user, each with its own authorised consent, customer token and idempotency key.

Run by `openbank bench payments`, which prepares the work list (PAYMENTS_BENCH_WORK, a JSON file).
"""

from __future__ import annotations

import json
import os

from locust import FastHttpUser, events, task

from loadtests.processes import WorkList, fixed_rate, stagger_start
from openbank_kit.gc_tuning import tune_garbage_collector

_WORK = WorkList()
SETTLED = ("ACCC", "ACSC")  # same-bank settles at once


@events.init.add_listener
def _load_work(environment, **_kwargs) -> None:
    with open(os.environ["PAYMENTS_BENCH_WORK"]) as handle:
        _WORK.items.extend(json.load(handle))
    tune_garbage_collector()  # the work list out of the collector's passes (openbank_kit/gc_tuning.py)


PER_USER_RATE = float(os.environ.get("PAYMENTS_BENCH_PER_USER_RATE", "5"))


class PaymentUser(FastHttpUser):  # geventhttpclient: less of the load generator's CPU per call
    wait_time = fixed_rate(PER_USER_RATE)

    def on_start(self) -> None:
        stagger_start(self, PER_USER_RATE)

    @task
    def pay(self) -> None:
        item = _WORK.take()
        if item is None:
            self.environment.runner.quit()  # bounded: one prepared consent per payment
            return
        with self.client.post(
            "/open-banking/v4.0/pisp/domestic-payments",
            json=item["Body"],
            headers={"Authorization": f"Bearer {item['Token']}", "x-idempotency-key": item["Key"]},
            name="POST /open-banking/v4.0/pisp/domestic-payments",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            elif response.json()["Data"]["Status"] not in SETTLED:
                response.failure(f"not settled: {response.json()['Data']['Status']}")

"""Locust scenario: the decision call alone (`POST /lending/v1/applications`) through the gateway, plus an
authenticated no-op GET on the same gateway for comparison.

Run by `openbank bench lending`, which prepares the work list: one authorised consent and its customer's token
per decision, spread over every generated customer with an eligible account (LENDING_BENCH_WORK, a JSON file).
"""

from __future__ import annotations

import json
import os
import threading

from locust import HttpUser, constant_throughput, events, task

_WORK: list[dict] = []
_CURSOR = {"next": 0}
_LOCK = threading.Lock()
_NOOP: dict = {}


@events.init.add_listener
def _load_work(environment, **_kwargs) -> None:
    with open(os.environ["LENDING_BENCH_WORK"]) as handle:
        prepared = json.load(handle)
    _WORK.extend(prepared["Decisions"])
    _NOOP.update(prepared["NoOp"])


def _next_item() -> dict | None:
    with _LOCK:
        index = _CURSOR["next"]
        if index >= len(_WORK):
            return None
        _CURSOR["next"] = index + 1
        return _WORK[index]


class DecisionUser(HttpUser):
    """A partner backend sending decision calls at a fixed rate per user (rate = users × throughput)."""

    weight = int(os.environ.get("LENDING_BENCH_DECISION_USERS", "60"))
    wait_time = constant_throughput(float(os.environ.get("LENDING_BENCH_PER_USER_RATE", "5")))

    @task
    def decide(self) -> None:
        item = _next_item()
        if item is None:
            self.environment.runner.quit()  # bounded: one prepared consent per decision
            return
        with self.client.post(
            "/lending/v1/applications",
            json={"Data": {"ConsentId": item["ConsentId"]}, "Risk": {}},
            headers={"Authorization": f"Bearer {item['Token']}", "x-idempotency-key": item["Key"]},
            name="POST /lending/v1/applications",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            elif response.json()["Data"]["Decision"]["Outcome"] not in ("APPROVED", "REFERRED", "DECLINED"):
                response.failure("no decision in the response")


class NoOpUser(HttpUser):
    """An authenticated no-op through the same gateway (token check, caller assertion, proxy, service)."""

    weight = int(os.environ.get("LENDING_BENCH_NOOP_USERS", "4"))
    wait_time = constant_throughput(5)

    @task
    def whoami(self) -> None:
        self.client.get(
            "/sandbox/v1/whoami/loans",
            headers={"Authorization": f"Bearer {_NOOP['Token']}"},
            name="GET /sandbox/v1/whoami/loans (no-op)",
        )

"""Locust scenarios: (b) the decision call alone (`POST /lending/v1/applications`) through the gateway, with an
authenticated no-op GET on the same gateway for comparison; (a) the whole partner journey (JourneyUser).

Run by `openbank bench lending`, which prepares the work list: one authorised consent and its customer's token
per decision, spread over every generated customer with an eligible account (LENDING_BENCH_WORK, a JSON file).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from locust import FastHttpUser, HttpUser, constant_throughput, events, task

from loadtests.processes import WorkList, fixed_rate, stagger_start
from openbank_kit.gc_tuning import tune_garbage_collector

_WORK = WorkList()
_NOOP: dict = {}
_JOURNEY: dict = {}


# A file for every measured decision's start time and latency, to find the seconds a tail comes from.
_TRACE = os.environ.get("LENDING_BENCH_TRACE")
_TRACED: list[tuple[float, float]] = []


@events.request.add_listener
def _trace(request_type, name, response_time, **_kwargs) -> None:
    if _TRACE and name == "POST /lending/v1/applications":
        _TRACED.append((time.time() - response_time / 1000, response_time))


@events.quitting.add_listener
def _write_trace(environment, **_kwargs) -> None:
    if _TRACE and _TRACED:
        with open(_TRACE, "w") as handle:
            handle.writelines(f"{started:.4f} {ms:.2f}\n" for started, ms in _TRACED)


@events.init.add_listener
def _load_work(environment, **_kwargs) -> None:
    with open(os.environ["LENDING_BENCH_WORK"]) as handle:
        prepared = json.load(handle)
    _WORK.items.extend(prepared["Decisions"])
    _NOOP.update(prepared["NoOp"])
    _JOURNEY.update(prepared.get("Journey", {}))
    tune_garbage_collector()  # the work list out of the collector's passes (openbank_kit/gc_tuning.py)


DECISION_RATE_PER_USER = float(os.environ.get("LENDING_BENCH_PER_USER_RATE", "5"))
NOOP_RATE_PER_USER = 5.0


class DecisionUser(FastHttpUser):  # geventhttpclient: less of the load generator's CPU per call
    """A partner backend sending decision calls at a fixed rate per user (rate = users × throughput)."""

    weight = int(os.environ.get("LENDING_BENCH_DECISION_USERS", "60"))
    wait_time = fixed_rate(DECISION_RATE_PER_USER)

    def on_start(self) -> None:
        stagger_start(self, DECISION_RATE_PER_USER)

    @task
    def decide(self) -> None:
        item = _WORK.take()
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


class NoOpUser(FastHttpUser):
    """An authenticated no-op through the same gateway (token check, caller assertion, proxy, service)."""

    weight = int(os.environ.get("LENDING_BENCH_NOOP_USERS", "4"))
    wait_time = fixed_rate(NOOP_RATE_PER_USER)

    def on_start(self) -> None:
        stagger_start(self, NOOP_RATE_PER_USER)

    @task
    def whoami(self) -> None:
        self.client.get(
            "/sandbox/v1/whoami/loans",
            headers={"Authorization": f"Bearer {_NOOP['Token']}"},
            name="GET /sandbox/v1/whoami/loans (no-op)",
        )


class JourneyUser(HttpUser):
    """Scenario (a): the whole partner journey per iteration, nothing prepared but the app and the personas' names:
    client-credentials token → lending consent → headless authorisation (sandbox-basic: the request in the query,
    PKCE S256) → code exchange → application (the decision) → accept when approved."""

    weight = int(os.environ.get("LENDING_BENCH_JOURNEY_USERS", "0"))
    wait_time = constant_throughput(float(os.environ.get("LENDING_BENCH_JOURNEY_RATE", "1")))

    def on_start(self) -> None:
        self.app = _JOURNEY["App"]
        self.auth = (self.app["ClientId"], self.app["ClientSecret"])
        self.app_token, self.app_token_at = None, 0.0

    def _app_token(self) -> str:
        if self.app_token is None or time.monotonic() - self.app_token_at > 500:  # tokens live 600 s
            response = self.client.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "lending"},
                                        auth=self.auth, name="journey: client-credentials token")  # fmt: skip
            self.app_token, self.app_token_at = response.json()["access_token"], time.monotonic()
        return self.app_token

    @task
    def journey(self) -> None:
        started = time.perf_counter()
        try:
            outcome = self._journey()
        except Exception as exc:  # any step's failure is the journey's failure
            self.environment.events.request.fire(request_type="JOURNEY", name="journey: whole", context={},
                                                 response_time=(time.perf_counter() - started) * 1000,
                                                 response_length=0, exception=exc)  # fmt: skip
            return
        self.environment.events.request.fire(request_type="JOURNEY", name=f"journey: whole ({outcome})", context={},
                                             response_time=(time.perf_counter() - started) * 1000,
                                             response_length=0, exception=None)  # fmt: skip

    def _journey(self) -> str:
        username = random.choice(_JOURNEY["Usernames"])
        consent = self.client.post(
            "/lending/v1/loan-application-consents",
            json={"Data": {"ProductId": "quick-loan", "Amount": {"Amount": "20000.00", "Currency": "CNY"},
                           "TermMonths": 12, "RepaymentMethod": "EQUAL_INSTALMENT", "Purpose": "家电分期"}, "Risk": {}},
            headers={"Authorization": f"Bearer {self._app_token()}"}, name="journey: consent",
        )  # fmt: skip
        consent.raise_for_status()
        consent_id = consent.json()["Data"]["ConsentId"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {"client_id": self.app["ClientId"], "response_type": "code", "redirect_uri": self.app["RedirectUri"],
                 "scope": "openid lending", "openbanking_intent_id": consent_id, "state": secrets.token_hex(8),
                 "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
        approved = self.client.post(
            "/sandbox/v1/authorize",
            json={"AuthorizationUrl": f"{self.host}/oauth2/authorize?{urlencode(query)}", "Username": username,
                  "Password": "sandbox", "Otp": "123456", "Decision": "approve"},
            headers={"Authorization": f"Bearer {_JOURNEY['InitialToken']}"}, name="journey: headless authorisation",
        )  # fmt: skip
        approved.raise_for_status()
        code = parse_qs(urlsplit(approved.json()["RedirectTo"]).query)["code"][0]
        tokens = self.client.post(
            "/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.app["RedirectUri"],
                  "code_verifier": verifier},
            auth=self.auth, name="journey: code exchange",
        )  # fmt: skip
        tokens.raise_for_status()
        customer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        application = self.client.post(
            "/lending/v1/applications", json={"Data": {"ConsentId": consent_id}, "Risk": {}},
            headers={**customer, "x-idempotency-key": f"j-{consent_id}"}, name="journey: application",
        )  # fmt: skip
        application.raise_for_status()
        data = application.json()["Data"]
        if data["Decision"]["Outcome"] != "APPROVED":
            return data["Decision"]["Outcome"].lower()
        accepted = self.client.post(
            f"/lending/v1/applications/{data['ApplicationId']}/accept",
            json={"Data": {"OfferId": data["Offer"]["OfferId"]}, "Risk": {}},
            headers={**customer, "x-idempotency-key": f"a-{consent_id}"}, name="journey: accept",
        )  # fmt: skip
        accepted.raise_for_status()
        return "accepted"

"""美家家电商城 Meijia Appliances: a partner shop that embeds the bank through its public API (fapi2 profile).

Four journeys, each "create a consent with an app token → PAR → send the shopper to the bank's consent pages →
come back to /callback with a code → act with the shopper's token":
  - link a bank account (AIS): accounts and balances;
  - pay at checkout (PIS): a domestic payment to the merchant; "settled" once the bank's signed event arrives;
  - pay in 12 instalments (Lending, entrusted payment 受托支付): decision, offer, accept → paid to the merchant;
  - pay a utility bill (bill pay): biller directory, bill lookup, a domestic payment for the bill.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import httpx
from authlib.integrations.base_client.errors import OAuthError
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from examples.partner_shop.bank import (
    CONSENT_REVOKED,
    RESOURCE_UPDATE,
    Bank,
    BankError,
    ShopConfig,
    load_client_key,
    subjects,
)
from examples.partner_shop.shop import (
    PAYMENT_REASON_TEXT,
    PRODUCTS,
    REASON_TEXT,
    Flow,
    Order,
    Session,
    Store,
)

log = logging.getLogger("partner_shop")
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
SESSION_COOKIE = "shop_session"
MERCHANT_NAME = "美家家电商城"
# The merchant's corporate account (AccountClass CORPORATE) at the bank: 深圳市华兴商贸有限公司 runs the shop;
# sandbox_data gives that persona SME this number in every tenant (see examples/partner_shop/README.md).
MERCHANT_ACCOUNT = "6219990000000000101"
MERCHANT_ACCOUNT_NAME = "深圳市华兴商贸有限公司"
SETTLED_STATUSES = {"ACCC", "ACSC"}  # same-bank payments are ACCC at once; other-bank ones end ACSC
LOAN_PRODUCT_ID = "quick-loan"
AISP = "/open-banking/v4.0/aisp"
PISP = "/open-banking/v4.0/pisp"
# Balances for the account page; debits in detail so bill pay can offer the bills the shopper paid before.
PERMISSIONS = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsDebits"]
UTILITY_CODE = "UTILITY"  # the bank's ProprietaryBankTransactionCode for a utility payment


def config_from_env() -> ShopConfig:
    port = int(os.environ.get("SHOP_PORT", "8400"))
    client_id, key_file = os.environ.get("SHOP_CLIENT_ID"), os.environ.get("SHOP_CLIENT_KEY_FILE")
    if bool(client_id) != bool(key_file):
        raise SystemExit(
            "set both SHOP_CLIENT_ID and SHOP_CLIENT_KEY_FILE (an app made in the portal), or neither"
        )
    token = ""  # an app of our own needs no registration, so no initial access token
    if not client_id:
        token = os.environ.get("SHOP_INITIAL_ACCESS_TOKEN") or Path(
            os.environ.get("SHOP_INITIAL_ACCESS_TOKEN_FILE", "var/demo-initial-access-token")
        ).read_text().strip()  # fmt: skip
    return ShopConfig(
        issuer=os.environ.get("SHOP_ISSUER", "http://127.0.0.1:8000"),
        initial_access_token=token,
        base_url=f"http://127.0.0.1:{port}",
        state_dir=Path(os.environ.get("SHOP_STATE_DIR", "var/partner-shop")),
        merchant_account=os.environ.get("SHOP_MERCHANT_ACCOUNT", MERCHANT_ACCOUNT),
        merchant_name=MERCHANT_NAME,
        client_id=client_id or None,
        client_key=load_client_key(Path(key_file).read_text()) if key_file else None,
    )


def create_app(config: ShopConfig | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        cfg = config or config_from_env()
        bank = await run_in_threadpool(Bank.connect, cfg)  # register once, or load the saved registration
        await run_in_threadpool(bank.subscribe_to_events)
        app.state.bank, app.state.store = bank, Store()
        yield
        bank.client.close()

    app = FastAPI(title="美家家电商城 partner demo shop", lifespan=lifespan)

    @app.middleware("http")
    async def session_cookie(request: Request, call_next):
        """Each shopper gets a session id in an HttpOnly cookie; orders and a linked account hang off it."""
        if request.url.path.startswith(("/webhooks/", "/healthz")):  # the bank and probes are not shoppers
            return await call_next(request)
        session = request.app.state.store.session(request.cookies.get(SESSION_COOKIE))
        request.state.session = session
        response = await call_next(request)
        if request.cookies.get(SESSION_COOKIE) != session.session_id:
            response.set_cookie(SESSION_COOKIE, session.session_id, httponly=True, samesite="lax")
        return response

    @app.exception_handler(httpx.HTTPError)
    @app.exception_handler(OAuthError)
    async def bank_unreachable_or_refused(request: Request, exc: Exception):
        """A token, PAR or network failure anywhere in a journey: say it, as a shop would, instead of a 500."""
        log.warning("bank call failed: %r", exc)
        return page(
            request, "error.html", 502, error=BankError(f"The bank could not complete the request ({exc})")
        )

    add_routes(app)
    return app


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, {"merchant": MERCHANT_NAME, **context},
                                      status_code=status_code)  # fmt: skip


def to_bank(bank: Bank, store: Store, session: Session, kind: str, scope: str, consent_id: str,
            **flow) -> RedirectResponse:  # fmt: skip
    """PAR naming the consent, remember the flow under its state, send the browser to the bank."""
    pending = bank.client.push_authorization(f"openid {scope}", consent_id, bank.config.redirect_uri)
    store.start_flow(Flow(kind, session.session_id, pending, consent_id, **flow))
    return RedirectResponse(pending.url, status_code=303)


def payment_consent_body(order: Order, creditor: dict, remittance: dict, context: str) -> dict:
    """OBWriteDomesticConsent4: we name amount, payee and reference; the shopper picks the account at the bank."""
    return {
        "Data": {
            "Initiation": {
                "InstructionIdentification": order.order_id,
                "EndToEndIdentification": order.order_id,
                "LocalInstrument": "CN.CNAPS.IBPS",
                "InstructedAmount": {"Amount": f"{order.amount:.2f}", "Currency": "CNY"},
                "CreditorAccount": creditor,
                "RemittanceInformation": remittance,
            }
        },
        "Risk": {"PaymentContextCode": context},
    }


def add_routes(app: FastAPI) -> None:  # one function keeps the tutorial in reading order
    def bank_of(request: Request) -> Bank:
        return request.app.state.bank

    def store_of(request: Request) -> Store:
        return request.app.state.store

    def order_of(request: Request, order_id: str) -> Order | None:
        order = store_of(request).orders.get(order_id)
        return order if order and order_id in request.state.session.order_ids else None

    def error_page(request: Request, exc: BankError, status_code: int = 502) -> HTMLResponse:
        return page(request, "error.html", status_code, error=exc)

    # --- the shop front ------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def products(request: Request):
        return page(request, "products.html", products=PRODUCTS.values())

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    # --- 1. Link your bank account (AIS) -------------------------------------------------------------------
    def read_accounts(request: Request) -> list[tuple[dict, list[dict]]]:
        """The linked accounts and their balances; an expired access token is renewed once with the refresh
        token (401), anything else is the bank's answer (a revoked consent: 403)."""
        session: Session = request.state.session
        bank = bank_of(request)
        for attempt in range(2):
            try:
                listed = bank.call(
                    "GET", f"{AISP}/accounts", session.accounts_token, doing="reading your accounts"
                )
                return [(account, bank.call("GET", f"{AISP}/accounts/{account['AccountId']}/balances",
                                            session.accounts_token, doing="reading balances")["Data"]["Balance"])
                        for account in listed["Data"]["Account"]]  # fmt: skip
            except BankError as exc:
                if exc.status != 401 or attempt or not session.accounts_refresh_token:
                    raise
                try:
                    tokens = bank.client.refresh(session.accounts_refresh_token)
                except OAuthError:  # the grant is gone (revoked, reset): show the first refusal
                    raise exc from None
                session.accounts_token = tokens["access_token"]
                session.accounts_refresh_token = tokens.get("refresh_token", session.accounts_refresh_token)
        raise AssertionError("unreachable: the loop returns or raises")

    @app.get("/accounts", response_class=HTMLResponse)
    def accounts(request: Request):
        session: Session = request.state.session
        if not session.accounts_token:
            return page(request, "accounts.html", linked=False)
        try:  # every visit asks the bank again: a revoked consent shows here at once
            shown = read_accounts(request)
        except BankError as exc:
            revoked = session.accounts_consent_id in store_of(request).revoked_consents  # the bank's event
            return page(request, "accounts.html", linked=True, error=exc, consent_id=session.accounts_consent_id,
                        notified_revoked=revoked)  # fmt: skip
        return page(
            request, "accounts.html", linked=True, accounts=shown, consent_id=session.accounts_consent_id
        )

    @app.post("/accounts/link")
    def link_accounts(request: Request):
        bank, session = bank_of(request), request.state.session
        try:
            consent = bank.call("POST", f"{AISP}/account-access-consents", bank.app_token("accounts"),
                                {"Data": {"Permissions": PERMISSIONS}, "Risk": {}}, expect=201,
                                doing="asking for access to your accounts")  # fmt: skip
        except BankError as exc:
            return error_page(request, exc)
        return to_bank(bank, store_of(request), session, "accounts", "accounts", consent["Data"]["ConsentId"])

    # --- 2. Pay at checkout (PIS) --------------------------------------------------------------------------
    @app.post("/checkout/{sku}/pay")
    def pay_now(request: Request, sku: str):
        bank, store, session = bank_of(request), store_of(request), request.state.session
        product = PRODUCTS.get(sku)
        if product is None:
            return Response("unknown product", status_code=404)
        order = store.new_order(session, "goods", product.name, product.price)
        creditor = {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": bank.config.merchant_account,
                    "Name": MERCHANT_ACCOUNT_NAME}  # fmt: skip
        body = payment_consent_body(order, creditor, {"Unstructured": [f"{MERCHANT_NAME} {order.order_id}"]},
                                    "EcommerceGoods")  # fmt: skip
        return start_payment(request, order, body)

    def start_payment(request: Request, order: Order, body: dict):
        bank, store = bank_of(request), store_of(request)
        try:
            consent = bank.call("POST", f"{PISP}/domestic-payment-consents", bank.app_token("payments"), body,
                                key=f"consent-{order.order_id}", expect=201,
                                doing="preparing the payment")  # fmt: skip
        except BankError as exc:
            order.move("FAILED", exc.message)
            return RedirectResponse(f"/orders/{order.order_id}", status_code=303)
        order.consent_id = consent["Data"]["ConsentId"]
        return to_bank(bank, store, request.state.session, "payment", "payments", order.consent_id,
                       order_id=order.order_id, consent_body=body)  # fmt: skip

    def submit_payment(request: Request, flow: Flow, order: Order, token: str) -> None:
        """POST /domestic-payments with the shopper's token; Initiation and Risk exactly as in the consent."""
        bank = bank_of(request)
        body = {"Data": {"ConsentId": flow.consent_id, "Initiation": flow.consent_body["Data"]["Initiation"]},
                "Risk": flow.consent_body["Risk"]}  # fmt: skip
        try:
            payment = bank.call("POST", f"{PISP}/domestic-payments", token, body, key=f"pay-{order.order_id}",
                                expect=201, doing="paying")  # fmt: skip
        except BankError as exc:
            order.move("FAILED", exc.message)
            return
        data = payment["Data"]
        order.payment_id, order.payment_status = data["DomesticPaymentId"], data["Status"]
        if data["Status"] == "RJCT":
            reason = (data.get("StatusReason") or [{}])[0]
            code = reason.get("StatusReasonCode", "")
            words = PAYMENT_REASON_TEXT.get(code, "The bank rejected the payment")
            order.move("FAILED", f"{words} ({code}: {reason.get('StatusReasonDescription', '')})")
            return
        order.move("PAYMENT_SUBMITTED", f"The bank accepted the payment ({data['Status']}).")
        refresh_settlement(request, order)

    def refresh_settlement(request: Request, order: Order) -> None:
        """Settled = the bank's signed event arrived and the payment reads settled (the event says "look")."""
        store = store_of(request)
        with store.lock:
            order.notified = order.notified or order.payment_id in store.notified_payments
            if (
                order.status == "PAYMENT_SUBMITTED"
                and order.notified
                and order.payment_status in SETTLED_STATUSES
            ):
                order.move("SETTLED", "The bank notified us: the money is in the merchant's account.")

    # --- 3. Pay in 12 instalments (Lending, entrusted payment) ---------------------------------------------
    @app.post("/checkout/{sku}/instalments")
    def pay_in_instalments(request: Request, sku: str):
        bank, store, session = bank_of(request), store_of(request), request.state.session
        product = PRODUCTS.get(sku)
        if product is None:
            return Response("unknown product", status_code=404)
        order = store.new_order(session, "instalments", product.name, product.price)
        data = {
            "ProductId": LOAN_PRODUCT_ID,
            "Amount": {"Amount": f"{order.amount:.2f}", "Currency": "CNY"},
            "TermMonths": 12,
            "RepaymentMethod": "EQUAL_INSTALMENT",
            "Purpose": f"分期购买 {product.name} instalment purchase",
            # 受托支付: the loan goes straight to the merchant, never through the shopper's account
            "Payee": {"SchemeName": "CN.CNAPS.AccountNumber", "Identification": bank.config.merchant_account,
                      "Name": MERCHANT_ACCOUNT_NAME},
        }  # fmt: skip
        try:
            consent = bank.call("POST", "/lending/v1/loan-application-consents", bank.app_token("lending"),
                                {"Data": data, "Risk": {}}, expect=201,
                                doing="preparing the instalment plan")  # fmt: skip
        except BankError as exc:
            order.move("FAILED", exc.message)
            return RedirectResponse(f"/orders/{order.order_id}", status_code=303)
        order.consent_id = consent["Data"]["ConsentId"]
        return to_bank(bank, store, session, "loan", "lending", order.consent_id, order_id=order.order_id)

    def apply_for_loan(request: Request, flow: Flow, order: Order, token: str) -> None:
        """The decision comes back synchronously: APPROVED with an offer, REFERRED or DECLINED with reasons."""
        try:
            application = bank_of(request).call("POST", "/lending/v1/applications", token,
                                                {"Data": {"ConsentId": flow.consent_id}, "Risk": {}},
                                                key=f"apply-{order.order_id}", expect=201,
                                                doing="applying for the instalment plan")  # fmt: skip
        except BankError as exc:
            order.move("FAILED", exc.message)
            return
        data = application["Data"]
        order.application_id, order.decision = data["ApplicationId"], data["Decision"]
        order.customer_token = token
        if data["Decision"]["Outcome"] == "APPROVED":
            order.offer = data["Offer"]
            order.move("OFFERED")
        else:
            order.move("DECLINED")  # the page lists the reasons in words

    @app.post("/orders/{order_id}/accept-offer")
    def accept_offer(request: Request, order_id: str):
        order = order_of(request, order_id)
        if order is None or order.status != "OFFERED":
            return Response("no offer to accept", status_code=409)
        try:
            loan = bank_of(request).call("POST", f"/lending/v1/applications/{order.application_id}/accept",
                                         order.customer_token,
                                         {"Data": {"OfferId": order.offer["OfferId"]}, "Risk": {}},
                                         key=f"accept-{order.order_id}", expect=201,
                                         doing="accepting the offer")  # fmt: skip
        except BankError as exc:
            order.move("FAILED", exc.message)
        else:
            order.loan = loan["Data"]
            order.move(
                "PAID_BY_LOAN", f"Loan {loan['Data']['LoanId']} ({loan['Data']['Status']}) paid the merchant."
            )
        return RedirectResponse(f"/orders/{order.order_id}", status_code=303)

    # --- 4. Pay a utility bill (bill pay) ------------------------------------------------------------------
    @app.get("/bills", response_class=HTMLResponse)
    def bills(request: Request, biller_id: str = "", reference: str = ""):
        bank = bank_of(request)
        try:
            billers = bank.call("GET", "/billpay/v1/billers", bank.app_token("payments"),
                                doing="reading the biller directory")["Data"]["Biller"]  # fmt: skip
            found = None
            if biller_id and reference:
                found = bank.call("GET", f"/billpay/v1/billers/{biller_id}/bills?CustomerReference={reference}",
                                  bank.app_token("payments"), doing="looking up the bill")["Data"]["Bill"]  # fmt: skip
        except BankError as exc:
            return page(
                request, "bills.html", billers=[], error=exc, biller_id=biller_id, reference=reference
            )
        return page(request, "bills.html", billers=billers, bills=found, biller_id=biller_id, reference=reference,
                    known=known_bill_references(request, billers))  # fmt: skip

    def known_bill_references(request: Request, billers: list[dict]) -> list[tuple[dict, str]]:
        """With a linked account: the (biller, customer reference) pairs of the utility bills paid from it."""
        session: Session = request.state.session
        if not session.accounts_token:
            return []
        bank, by_name = bank_of(request), {b["Name"]: b for b in billers}
        known: dict[tuple[str, str], tuple[dict, str]] = {}
        try:
            listed = bank.call(
                "GET", f"{AISP}/accounts", session.accounts_token, doing="reading your accounts"
            )
            for account in listed["Data"]["Account"]:
                page_of = bank.call("GET", f"{AISP}/accounts/{account['AccountId']}/transactions",
                                    session.accounts_token, doing="reading transactions")  # fmt: skip
                for tx in page_of["Data"]["Transaction"]:
                    biller = by_name.get((tx.get("MerchantDetails") or {}).get("MerchantName", ""))
                    if (
                        tx["ProprietaryBankTransactionCode"]["Code"] == UTILITY_CODE
                        and biller
                        and tx.get("TransactionReference")
                    ):
                        key = (biller["BillerId"], tx["TransactionReference"])
                        known[key] = (biller, tx["TransactionReference"])
        except BankError:
            return []  # only a convenience: the accounts page shows what the bank said
        return sorted(known.values(), key=lambda pair: (pair[0]["BillerId"], pair[1]))

    @app.post("/bills/pay")
    def pay_bill(request: Request, biller_id: str = Form(), reference: str = Form(), bill_id: str = Form()):
        bank, store = bank_of(request), store_of(request)
        try:  # read the bill again: amounts come from the biller, never from the form
            found = bank.call("GET", f"/billpay/v1/billers/{biller_id}/bills?CustomerReference={reference}",
                              bank.app_token("payments"), doing="looking up the bill")["Data"]["Bill"]  # fmt: skip
        except BankError as exc:
            return error_page(request, exc)
        bill = next((b for b in found if b["BillId"] == bill_id), None)
        if bill is None:
            return error_page(request, BankError(f"bill {bill_id} not found for reference {reference}"), 404)
        ready = bill[
            "PaymentInitiation"
        ]  # amount, the biller's account and the BillId reference, ready to copy
        order = store.new_order(request.state.session, "bill", f"{bill['Period']} bill {bill_id}",
                                Decimal(ready["InstructedAmount"]["Amount"]))  # fmt: skip
        body = payment_consent_body(
            order, ready["CreditorAccount"], ready["RemittanceInformation"], "BillPayment"
        )
        return start_payment(request, order, body)

    # --- back from the bank --------------------------------------------------------------------------------
    @app.get("/callback")
    def callback(request: Request):
        params = dict(request.query_params)
        flow = store_of(request).take_flow(params.get("state", ""))
        if flow is None or flow.session_id != request.state.session.session_id:
            return error_page(request, BankError("This sign-in link is not ours or was already used."), 400)
        order = store_of(request).orders.get(flow.order_id)
        bank = bank_of(request)
        try:
            bank.client.check_response(flow.pending, params)  # RFC 9207: who answered
        except ValueError as exc:
            return error_page(request, BankError(str(exc)), 400)
        if "error" in params:  # access_denied: the shopper said no at the bank
            if order:
                order.move("CANCELLED", f"You did not authorise it at the bank ({params['error']}).")
                return RedirectResponse(f"/orders/{order.order_id}", status_code=303)
            return RedirectResponse("/accounts", status_code=303)
        try:
            tokens = bank.client.exchange_code(flow.pending, params["code"])
        except OAuthError as exc:  # e.g. invalid_grant: a code used twice or expired
            return error_page(request, BankError(f"exchanging the code: {exc}"))
        token = tokens["access_token"]
        if flow.kind == "accounts":
            session: Session = request.state.session
            session.accounts_token, session.accounts_consent_id = token, flow.consent_id
            session.accounts_refresh_token = tokens.get("refresh_token", "")
            return RedirectResponse("/accounts", status_code=303)
        if flow.kind == "payment":
            submit_payment(request, flow, order, token)
        else:
            apply_for_loan(request, flow, order, token)
        return RedirectResponse(f"/orders/{order.order_id}", status_code=303)

    # --- orders --------------------------------------------------------------------------------------------
    @app.get("/orders/{order_id}", response_class=HTMLResponse)
    def order_page(request: Request, order_id: str):
        order = order_of(request, order_id)
        if order is None:
            return Response("no such order", status_code=404)
        refresh_settlement(request, order)
        return page(
            request,
            "order.html",
            order=order,
            reasons=reasons_in_words(order.decision.get("ReasonCodes", [])),
        )

    # --- the bank's webhook --------------------------------------------------------------------------------
    @app.post("/webhooks/event-notifications", status_code=202)
    async def event_notification(request: Request):
        """The bank pushes a signed SET (application/jwt); verify it before believing a word of it."""
        set_jwt = (await request.body()).decode(errors="replace").strip()
        return await run_in_threadpool(take_event, request, set_jwt)

    def take_event(request: Request, set_jwt: str) -> Response:
        bank, store = bank_of(request), store_of(request)
        try:
            claims = bank.verify_event(set_jwt)
        except ValueError as exc:
            log.warning("refused an event: %s", exc)
            return Response(status_code=400)
        for event_type, resource_type, resource_id in subjects(claims):
            if event_type == CONSENT_REVOKED:  # the customer withdrew a consent at the bank
                with store.lock:
                    store.revoked_consents.add(resource_id)
                continue
            if event_type != RESOURCE_UPDATE or resource_type != "domestic-payments":
                continue  # only domestic payments matter to this shop
            payment_id = resource_id
            try:  # the event says "this payment changed": read it to learn how
                payment = bank.call("GET", f"{PISP}/domestic-payments/{payment_id}", bank.app_token("payments"),
                                    doing="reading the payment")["Data"]  # fmt: skip
            except BankError as exc:
                log.warning("event for %s: %s", payment_id, exc.message)
                continue  # the next event, or the order page's own read, will tell
            with store.lock:
                store.notified_payments.add(payment_id)
                for order in store.orders.values():
                    if order.payment_id == payment_id:
                        order.payment_status = payment["Status"]
        return Response(status_code=202)


def reasons_in_words(codes: list[str]) -> list[str]:
    return [REASON_TEXT.get(code, code) for code in codes]

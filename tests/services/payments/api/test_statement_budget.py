"""How many SQL statements one same-bank payment costs in each service (the benchmark's main figure).

Counted with a `before_cursor_execute` listener on each service's engines, and what its async units send
(`AsyncDatabase.observers`: those statements bypass the engines), while `POST /domestic-payments` runs: the first
payment of the debtor's day (the day counters are created) and a later one. The budgets are upper bounds
that keep the hot path from growing back unnoticed (before the cuts of docs/payments.md "Benchmark": 37 statements in
payments for the first payment of the day, 29-30 for a later one, 10 in accounts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

# Per same-bank payment (the route's async path, services/payments/submission.py): the claim, the consent's lock with
# the clock and subscription, the two day counters and the year's earlier days; the payment's writes with the stored
# answer; the outcome with its event. PostgreSQL gets each group of writes as one statement, SQLite one by one.
PAYMENTS_STATEMENT_BUDGET = {"postgresql": 7, "sqlite": 11}
# The ledger posting: the key's claim, the accounts' locks, their amounts and the clock, then the writes with the
# stored answer, which PostgreSQL gets as one statement (openbank_kit.sql.Bundle) and SQLite one by one.
ACCOUNTS_STATEMENT_BUDGET = {"postgresql": 4, "sqlite": 7}


@contextmanager
def counted(stack, service: str) -> Iterator[list[str]]:
    """The SQL statements the service runs inside the block (transaction control excluded)."""
    db = stack.db(service)
    engines = {id(db.engine): db.engine, id(db.write_engine): db.write_engine}.values()
    observers = stack.services[service].app.state.adb.observers
    statements: list[str] = []

    def listener(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    observers.append(statements.extend)
    try:
        yield statements
    finally:
        observers.remove(statements.extend)
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)


def _pay_counted(pisp, debtor_id: str, creditor_number: str) -> tuple[list[str], list[str]]:
    body = pisp.consent_body(creditor_number, "1.00")
    created = pisp.create_consent(body)
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    token = pisp.authorise(consent_id, "zhang.wei", account_ids=[debtor_id])
    with counted(pisp.stack, "payments") as payments, counted(pisp.stack, "accounts") as accounts:
        paid = pisp.pay(body, consent_id, token)
    assert paid.status_code == 201, paid.text
    assert paid.json()["Data"]["Status"] == "ACCC"
    return payments, accounts


def test_a_same_bank_payment_stays_within_its_statement_budget(pisp, capsys):
    debtor = next(a for a in pisp.accounts_of("zhang.wei") if a["AccountClass"] == "II")
    creditor = pisp.accounts_of("li.na")[0]
    first_payments, first_accounts = _pay_counted(pisp, debtor["AccountId"], creditor["Identification"])
    later_payments, later_accounts = _pay_counted(pisp, debtor["AccountId"], creditor["Identification"])
    with capsys.disabled():
        print(
            f"\nstatements per same-bank payment ({pisp.stack.db('payments').dialect}): "
            f"first of the day payments {len(first_payments)}, accounts {len(first_accounts)}; "
            f"later payments {len(later_payments)}, accounts {len(later_accounts)}"
        )
    budget = PAYMENTS_STATEMENT_BUDGET[pisp.stack.db("payments").dialect]
    assert len(later_payments) <= budget, "\n".join(later_payments)
    assert len(later_accounts) <= ACCOUNTS_STATEMENT_BUDGET[pisp.stack.db("accounts").dialect], "\n".join(
        later_accounts
    )
    assert len(first_payments) <= budget, "\n".join(first_payments)
    assert pisp.ledger_balanced()

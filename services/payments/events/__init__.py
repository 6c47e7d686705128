"""Events (DESIGN.md §6): a durable outbox of SET events, OBIE event subscriptions, aggregated polling, push."""

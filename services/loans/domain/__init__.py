"""Lending rules as pure functions: schedules, pricing, the credit decision, state machines. No I/O."""

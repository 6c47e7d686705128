from openbank_kit.settings import KitSettings


class PaymentsSettings(KitSettings):
    """Payments reads the shared OPENBANK_* settings; its own limits join here as they appear."""

    # Event push (services/payments/events): attempts before DEAD_LETTERED, backoff 1 s, 2 s, 4 s ...
    event_max_attempts: int = 5
    event_backoff_s: float = 1.0
    event_timeout_s: float = 3.0  # per POST to a CallbackUrl
    event_lease_s: float = 30.0  # a claimed delivery is due again after this if its process died
    event_dispatch_interval_s: float = 1.0  # the dispatcher thread's pass interval; 0 turns the thread off
    event_long_poll_s: float = 3.0  # POST /events with returnImmediately=false waits at most this long

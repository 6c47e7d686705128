from openbank_kit.settings import KitSettings


class PaymentsSettings(KitSettings):
    """Payments reads the shared OPENBANK_* settings; its own limits join here as they appear."""

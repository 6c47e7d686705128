from openbank_kit.settings import KitSettings


class LoansSettings(KitSettings):
    """Loans reads the shared OPENBANK_* settings; its own limits join here as they appear."""

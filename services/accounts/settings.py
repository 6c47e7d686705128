from openbank_kit.settings import KitSettings


class AccountsSettings(KitSettings):
    """Accounts reads the shared OPENBANK_* settings; its own limits join here as they appear."""

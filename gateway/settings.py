from openbank_kit.settings import KitSettings


class GatewaySettings(KitSettings):
    """The gateway reads the shared OPENBANK_* settings; authorization-server settings join here."""

"""Deterministic synthetic data for the sandbox: personas, customers, SMEs, ledger history, bureau and tax files.

world = generate_world(WorldConfig(as_of_date=date(2026, 12, 2)))
world.tables["accounts.posting"], world.for_service("loans"), world.digest()
"""

from sandbox_data.personas import PERSONAS, SANDBOX_OTP, SANDBOX_PASSWORD, Persona
from sandbox_data.world import World, WorldConfig, generate_world

__all__ = ["PERSONAS", "SANDBOX_OTP", "SANDBOX_PASSWORD", "Persona", "World", "WorldConfig", "generate_world"]

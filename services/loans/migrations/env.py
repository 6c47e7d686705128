from openbank_kit.migrations import run_env
from services.loans.models import ALL_TABLES

run_env(ALL_TABLES)

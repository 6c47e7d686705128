from gateway.models import ALL_TABLES
from openbank_kit.migrations import run_env

run_env(ALL_TABLES)

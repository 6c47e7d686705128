"""python -m sandbox_data --as-of 2026-12-02 [--seed 8] [--retail 200] [--smes 30]: counts, time, digest."""

from __future__ import annotations

import argparse
import time
from datetime import date

from sandbox_data.world import WorldConfig, generate_world


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox_data", description=__doc__)
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="local date (Asia/Shanghai)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--retail", type=int, default=200, help="background retail customers")
    parser.add_argument("--smes", type=int, default=30, help="background SMEs")
    args = parser.parse_args(argv)
    config = WorldConfig(as_of_date=args.as_of, seed=args.seed, retail_customers=args.retail, smes=args.smes)
    started = time.perf_counter()
    world = generate_world(config)
    elapsed = time.perf_counter() - started
    for name, rows in world.tables.items():
        print(f"{name:32} {len(rows):>8}")
    print(f"generated in {elapsed:.2f} s")
    print(f"digest {world.digest()}")


if __name__ == "__main__":
    main()

"""Run every benchmark module and print one table of figures against their targets."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from rich.console import Console
from rich.table import Table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="module names to run (e.g. bench_render)")
    args = parser.parse_args()
    folder = Path(__file__).parent
    names = sorted(
        info.name for info in pkgutil.iter_modules([str(folder)]) if info.name.startswith("bench_")
    )
    if args.only:
        names = [name for name in names if name in args.only]
    table = Table(title="Pinwheel benchmarks")
    for column in ("benchmark", "figure", "target", "module"):
        table.add_column(column)
    failures = 0
    for name in names:
        started = time.perf_counter()
        try:
            rows = importlib.import_module(f"bench.{name}").run()
        except Exception:
            failures += 1
            traceback.print_exc()
            table.add_row(name, "error", "-", name)
            continue
        for label, figure, target in rows:
            table.add_row(label, figure, target, name)
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    Console().print(table)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

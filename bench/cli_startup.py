"""Start-up time of the command line: ``mcphost --help`` and ``mcphost version`` as a user runs them (a new
process each time), next to a bare ``python -c pass`` for the interpreter's own share. Medians of repeats.

Usage: .venv/bin/python bench/cli_startup.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "mcphost version": [str(BIN / "mcphost"), "version"],
    "mcphost --help": [str(BIN / "mcphost"), "--help"],
    "mcphost servers --help": [str(BIN / "mcphost"), "servers", "--help"],
}


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args().repeats
    print("| command | median | min |")
    print("|---|---|---|")
    for name, argv in CASES.items():
        timed(argv)  # warm the file cache
        samples = [timed(argv) for _ in range(repeats)]
        print(f"| `{name}` | {statistics.median(samples) * 1000:.0f} ms | {min(samples) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()

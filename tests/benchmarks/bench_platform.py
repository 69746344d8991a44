"""Pause and cancel under both platform strategies, side by side.

    python3 tests/benchmarks/bench_platform.py [--repeat 5]

For a command whose two grandchildren burn CPU (the tree Pause must stop
whole): the CPU the tree uses in the 0.5 s after freezing (lower is better),
how long freezing and killing take, and whether anything survives the kill.
native = process groups and signals; portable = psutil (what Windows uses).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


from batchgui.core import platform
from batchgui.core.platform import processes
from tests.test_platform import _cpu_over, _start_tree, alive


def measure(strategy: str) -> tuple[float, float, float, int]:
    os.environ[platform.ENV] = strategy
    proc, tree = _start_tree()
    began = time.perf_counter()
    processes.freeze_tree(proc.pid)
    freeze_s = time.perf_counter() - began
    time.sleep(0.1)
    frozen_cpu = _cpu_over(tree, 0.5)
    began = time.perf_counter()
    processes.kill_tree(proc.pid)
    deadline = time.monotonic() + 10
    while alive(tree) and time.monotonic() < deadline:
        time.sleep(0.002)
    kill_s = time.perf_counter() - began
    proc.wait(timeout=10)
    return frozen_cpu, freeze_s, kill_s, len(alive(tree))


# what a user would call frozen and killed: next to no CPU while paused, a tree
# gone within a frame, nothing left over
TARGETS = "frozen CPU <= 20 ms per 0.5 s, kill <= 100 ms, survivors 0"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"median of {args.repeat}; a command with 2 CPU-burning grandchildren")
    missed = 0
    print(f"{'strategy':<10} {'CPU frozen 0.5 s':>17} {'freeze':>9} {'kill':>9} {'survivors':>10}")
    for strategy in ("native", "portable"):
        runs = [measure(strategy) for _ in range(args.repeat)]
        cpu = statistics.median(r[0] for r in runs)
        freeze = statistics.median(r[1] for r in runs)
        kill = statistics.median(r[2] for r in runs)
        left = max(r[3] for r in runs)
        ok = cpu <= 0.02 and kill <= 0.1 and left == 0
        missed += not ok
        print(
            f"{strategy:<10} {cpu * 1000:>14.1f} ms {freeze * 1000:>6.2f} ms "
            f"{kill * 1000:>6.1f} ms {left:>10}  ({TARGETS}) {'ok' if ok else 'MISSED'}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

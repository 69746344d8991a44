"""Every benchmark once, with small sizes, and one table of their targets.

    python3 tests/benchmarks/run_all.py [--full]

Each benchmark runs in its own process (as a user would run it) and prints its
own lines; the lines that end in `ok` or `MISSED` are its verdicts against
targets, gathered here into one table. Small sizes keep the whole run under
five minutes on a 2-core machine; `--full` runs each at its own defaults (the
figures quoted in the README and the issues). Exit status 1 if any target is
missed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (benchmark, small arguments)
BENCHMARKS = [
    ("bench_engine.py", ["--tasks", "20000", "--repeat", "1"]),
    ("bench_exec.py", ["--files", "3000", "--repeat", "2"]),
    ("bench_store.py", ["--tasks", "20000", "--resume-tasks", "100000", "--repeat", "3"]),
    ("bench_dedupe.py", ["--files", "20000", "--scan-files", "20000", "--repeat", "2"]),
    ("bench_platform.py", ["--repeat", "3"]),
    ("bench_cluster.py", ["--tasks", "600", "--repeat", "1"]),
    ("bench_gui.py", ["--tasks", "100000"]),
    ("bench_operations.py", ["--files", "60", "--repeat", "1"]),
]
_VERDICT = re.compile(r"\b(ok|MISSED)\s*$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="each benchmark's own sizes")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    for name, small in BENCHMARKS:
        command = [sys.executable, str(HERE / name), *([] if args.full else small)]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        print(f"--- {name} ({seconds:.0f} s)\n{done.stdout.rstrip()}", flush=True)
        verdicts = [line for line in done.stdout.splitlines() if _VERDICT.search(line)]
        if done.returncode not in (0, 1) or not verdicts:
            tail = (done.stderr.strip().splitlines() or ["no verdict printed"])[-1]
            rows.append((name, f"did not run: {tail}"[:90], "MISSED"))
        for line in verdicts:
            verdict = _VERDICT.search(line)
            assert verdict is not None
            rows.append((name, line[: verdict.start()].strip()[:90], verdict.group(1)))
    width = max(len(figure) for _, figure, _ in rows)
    print(f"\n{'benchmark':<18} {'figure (target)':<{width}} verdict")
    for name, figure, verdict in rows:
        print(f"{name:<18} {figure:<{width}} {verdict}")
    return 1 if any(verdict == "MISSED" for *_, verdict in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

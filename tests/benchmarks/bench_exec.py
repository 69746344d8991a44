"""`batchgui run --exec` next to `xargs -P` on the same files, in the same run.

    python3 tests/benchmarks/bench_exec.py [--files 5000] [--workers 2] [--repeat 3] [--mode M]

Makes --files small files (1-4 KiB, fixed seed), then times, alternating and
deleting the outputs in between:
    find DIR -type f -name '*.txt' -print0 | xargs -0 -P N -n1 gzip -kf
    batchgui run DIR --exec 'gzip -kf {path}' --workers N --quiet
Both are whole commands started from a shell, so both pay their start-up
(batchgui's as an installed copy pays it: compiled, see installed.py).
Target: batchgui wall time <= 1.0x xargs. Best of --repeat runs.
Where GNU parallel is installed, it is timed too, for reference (no target):
    find DIR -type f -name '*.txt' -print0 | parallel -0 -j N gzip -kf
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.installed import compiled_environment, warm_up

TARGET = 1.0


def make_tree(root: Path, count: int) -> None:
    rng = random.Random(2)
    for i in range(count):
        folder = root / f"d{i % 50:02d}"
        folder.mkdir(exist_ok=True)
        words = " ".join(
            rng.choice(["alpha", "beta", "gamma", "delta", "log", "line"])
            for _ in range(rng.randint(150, 700))
        )
        (folder / f"file{i:05d}.txt").write_text(words)


def clean(root: Path) -> None:
    for gz in root.rglob("*.gz"):
        gz.unlink()


def timed(command: str, root: Path, env: dict[str, str] | None = None) -> float:
    clean(root)
    start = time.perf_counter()
    subprocess.run(command, shell=True, check=True, cwd=root.parent, env=env)
    elapsed = time.perf_counter() - start
    produced = sum(1 for _ in root.rglob("*.gz"))
    total = sum(1 for _ in root.rglob("*.txt"))
    assert produced == total, f"{command}: {produced} of {total} outputs"
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mode", default="auto", help="as batchgui run's (auto: exec's own)")
    args = parser.parse_args()
    if not shutil.which("gzip"):
        print("gzip is not installed; nothing to measure")
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-exec-"))
    root = work / "logs"
    root.mkdir()
    try:
        make_tree(root, args.files)
        n = args.workers
        xargs = f"find {root} -type f -name '*.txt' -print0 | xargs -0 -P{n} -n1 gzip -kf"
        batchgui = (
            f"{sys.executable} -m batchgui run {root} --exec 'gzip -kf {{path}}' "
            f"--workers {n} --mode {args.mode} --quiet --out {work / 'out'}"
        )
        timed(xargs, root)  # warm the page cache
        env = compiled_environment()
        warm_up(env, "run", "{folder}", "--exec", "gzip -kf {path}", "--quiet")
        parallel = shutil.which("parallel")
        gnu = f"find {root} -type f -name '*.txt' -print0 | {parallel} -0 -j{n} gzip -kf"
        best_x = best_b = best_p = float("inf")
        for _ in range(args.repeat):
            best_x = min(best_x, timed(xargs, root))
            best_b = min(best_b, timed(batchgui, root, env))
            if parallel:
                best_p = min(best_p, timed(gnu, root))
        ratio = best_b / best_x
        print(f"{args.files} files, {n} at once, best of {args.repeat} (mode {args.mode})")
        print(f"xargs -P{n}:  {best_x:6.2f} s  {args.files / best_x:8.0f} files/s")
        print(f"batchgui:   {best_b:6.2f} s  {args.files / best_b:8.0f} files/s")
        if parallel:
            print(
                f"GNU parallel -j{n}: {best_p:6.2f} s  {args.files / best_p:8.0f} files/s; "
                f"ratio batchgui/parallel: {best_b / best_p:.2f}x (reference, no target)"
            )
        print(
            f"wall-time ratio batchgui/xargs: {ratio:.2f}x (target <= {TARGET:.1f}x) "
            f"{'ok' if ratio <= TARGET else 'MISSED'}"
        )
        return 0 if ratio <= TARGET else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="bench-data-") as data:  # batchgui's store
        os.environ.setdefault("BATCHGUI_DATA_DIR", data)
        status = main()
    sys.exit(status)

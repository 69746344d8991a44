"""Duplicate detection next to jdupes and rdfind, and scanning speed, in one run.

    python3 tests/benchmarks/bench_dedupe.py [--files 20000] [--scan-files 100000] [--keep DIR]

1. Generates (fixed seed) --files files of 1 KiB-4 MiB, about 2 GiB: 20% are
   copies of others under other names and folders, plus pairs that share
   their first MiB and differ after it, and equal-size files that differ.
2. On the warm tree (each timing follows a warm-up read, since this machine
   drops idle page cache after ~30 s) times, best of --repeat:
     batchgui preview DIR --json      (scan + duplicate detection, whole command)
     jdupes -r -q DIR                 (if installed: apt-get install jdupes)
     rdfind -makeresultsfile false DIR (if installed: apt-get install rdfind)
   prints the ratios and checks that batchgui's groups equal jdupes'.
3. Scans and filters --scan-files small files: files/s, next to `find -type f`.
Targets: duplicate detection wall time <= 1.0x jdupes; the whole `preview --json`
command (Python's start-up included) <= 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from batchgui.scan.filters import Filters
from batchgui.scan.prepare import find_files
from batchgui.scan.walk import scan
from tests.benchmarks.installed import compiled_environment, warm_up

KIB, MIB = 1024, 1024 * 1024


def pick_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.77:
        return rng.randint(1 * KIB, 32 * KIB)
    if roll < 0.97:
        return rng.randint(32 * KIB, 512 * KIB)
    return rng.randint(512 * KIB, 4 * MIB)


def generate(root: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    made: list[Path] = []
    folders = [root / f"d{i:03d}" / f"s{i % 7}" for i in range(200)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    traps = count // 100  # pairs equal in the first MiB, different after it
    same_size = count // 100  # pairs of equal size, different content
    copies = count // 5  # exact duplicates
    originals = count - copies - 2 * traps - 2 * same_size
    for i in range(originals):
        path = rng.choice(folders) / f"orig{i:06d}.bin"
        path.write_bytes(rng.randbytes(pick_size(rng)))
        made.append(path)
    for i in range(traps):
        head = rng.randbytes(MIB)
        tail = rng.randint(1, 512 * KIB)
        (rng.choice(folders) / f"trap{i:05d}a.bin").write_bytes(head + rng.randbytes(tail))
        (rng.choice(folders) / f"trap{i:05d}b.bin").write_bytes(head + rng.randbytes(tail))
    for i in range(same_size):
        size = pick_size(rng)
        (rng.choice(folders) / f"size{i:05d}a.bin").write_bytes(rng.randbytes(size))
        (rng.choice(folders) / f"size{i:05d}b.bin").write_bytes(rng.randbytes(size))
    for i in range(copies):
        source = rng.choice(made)
        shutil.copyfile(source, rng.choice(folders) / f"copy{i:06d}.dat")


def warm(root: Path) -> None:
    subprocess.run(
        f"find {root} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
    )


def timed(command: list[str], root: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    warm(root)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return time.perf_counter() - start, result.stdout


def groups_from_batchgui(output: str) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row in json.loads(output)["files"]:
        if row["reason"] == "duplicate":
            groups.setdefault(row["duplicate_of"], {row["duplicate_of"]}).add(row["path"])
    return {frozenset(g) for g in groups.values()}


def groups_from_jdupes(output: str) -> set[frozenset[str]]:
    return {frozenset(block.split("\n")) for block in output.strip().split("\n\n") if block}


def detect_in_process(root: Path) -> float:
    warm(root)
    start = time.perf_counter()
    find_files([root], Filters())
    return time.perf_counter() - start


def bench_dedupe(root: Path, repeat: int) -> int:
    ours = [sys.executable, "-m", "batchgui", "preview", str(root), "--json"]
    env = compiled_environment()  # batchgui as installed: compiled (installed.py)
    warm_up(env, "preview", "{folder}", "--json")
    command, output = min(timed(ours, root, env) for _ in range(repeat))
    best = min(detect_in_process(root) for _ in range(repeat))
    our_groups = groups_from_batchgui(output)
    files = sum(len(g) for g in our_groups)
    print(
        f"batchgui: {best:6.2f} s scan + detection ({command:.2f} s for the whole "
        f"`preview --json` command, start-up and 20k rows of JSON included)"
    )
    print(f"          {len(our_groups)} groups, {files} files in groups")
    status = 0
    if shutil.which("jdupes"):
        jbest, joutput = min(timed(["jdupes", "-r", "-q", str(root)], root) for _ in range(repeat))
        jgroups = groups_from_jdupes(joutput)
        agree = jgroups == our_groups
        ratio, whole = best / jbest, command / jbest
        print(f"jdupes:   {jbest:6.2f} s  {len(jgroups)} groups; groups agree: {agree}")
        print(
            f"detection batchgui/jdupes: {ratio:.2f}x (target <= 1.0x) "
            f"{'ok' if ratio <= 1.0 else 'MISSED'}"
        )
        print(
            f"whole command batchgui/jdupes: {whole:.2f}x (target <= 1.5x) "
            f"{'ok' if whole <= 1.5 else 'MISSED'}"
        )
        status |= (not agree) or ratio > 1.0 or whole > 1.5
    else:
        print("jdupes is not installed (apt-get install jdupes): no comparison")
    if shutil.which("rdfind"):
        rbest, _ = min(
            timed(["rdfind", "-makeresultsfile", "false", str(root)], root) for _ in range(repeat)
        )
        print(f"rdfind:   {rbest:6.2f} s; ratio batchgui/rdfind: {best / rbest:.2f}x")
    else:
        print("rdfind is not installed (apt-get install rdfind): no comparison")
    return int(status)


def bench_scan(work: Path, count: int) -> None:
    root = work / "many"
    for i in range(count):
        folder = root / f"d{i % 1000:04d}"
        if i < 1000:
            folder.mkdir(parents=True)
        (folder / (f"f{i:06d}.txt" if i % 3 else f"f{i:06d}.log")).write_bytes(b"x")
    filters = Filters(extensions=(".txt",), exclude=("d0999/",))
    for _ in range(2):  # the second pass is the warm one
        start = time.perf_counter()
        found = sum(1 for e in scan([root], filters))
        elapsed = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(["find", str(root), "-type", "f"], stdout=subprocess.DEVNULL, check=True)
    find_s = time.perf_counter() - start
    print(
        f"scan + filter {count} files: {elapsed:.2f} s, {count / elapsed:,.0f} files/s "
        f"({found} entries); find -type f: {find_s:.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--scan-files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-dedupe-"))
    tree = work / "tree"
    try:
        if not tree.exists():
            start = time.perf_counter()
            generate(tree, args.files)
            os.sync()  # written back first: neither tool is timed beside the writeback
            size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
            print(
                f"generated {args.files} files, {size / 2**30:.2f} GiB in "
                f"{time.perf_counter() - start:.0f} s"
            )
        status = bench_dedupe(tree, args.repeat)
        bench_scan(work, args.scan_files)
        return status
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(work / "many", ignore_errors=True)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="bench-data-") as data:  # batchgui's store
        os.environ.setdefault("BATCHGUI_DATA_DIR", data)
        status = main()
    sys.exit(status)

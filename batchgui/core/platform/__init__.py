"""Everything that differs between Linux, macOS and Windows, in one place.

    the engine, runners, operations, store, CLI ─► batchgui.core.platform
        processes   freeze, thaw and kill a command's process tree or a worker;
                    the options that start a command in a group of its own
        workers     a worker's memory cap; a worker dying with batchgui
        interrupts  Ctrl-C and SIGTERM for the CLI
        files       durable fsync, file modes, replace with retries, file
                    identity, hidden files, path comparison
        commands    splitting a command line and running a shell script
        guardian    commands never outlive batchgui (POSIX)
        jobs        the same on Windows: a Job Object that kills on close
        spawn       starting a command (posix_spawn or Popen) and its output files
        pipes       reading a command's pipes on the event loop (--progress-regex)
        exits       waiting for a command in a worker thread, a slice at a time

Two strategies, chosen per call by `portable()`:
- native (the default on Linux and macOS): process groups and signals
  (killpg, SIGSTOP/SIGCONT/SIGKILL), RLIMIT_AS, PR_SET_PDEATHSIG, pidfd and
  add_reader, add_signal_handler: fast, and exactly what POSIX offers;
- portable (Windows always; anywhere with BATCHGUI_PLATFORM=portable): psutil
  for process trees (suspend, resume, kill every descendant; NtSuspendProcess
  on Windows), a memory watchdog on the worker's own RSS, a thread watching the
  parent, threads reading pipes, signal.signal + call_soon_threadsafe.
Both run on Linux, so this machine's tests exercise both (tests/test_platform.py
runs the process-control tests again under the portable strategy).

No module outside this package calls the POSIX-only APIs (fcntl, resource,
killpg, fchmod, SIGSTOP/SIGCONT/SIGKILL, prctl, add_reader,
add_signal_handler, /bin/sh): tests/test_architecture.py checks it.
"""

from __future__ import annotations

import os
import sys

ENV = "BATCHGUI_PLATFORM"
WINDOWS = sys.platform == "win32"
MACOS = sys.platform == "darwin"
LINUX = sys.platform.startswith("linux")


def portable() -> bool:
    """Whether the portable strategy is in force (read on every call: cheap, and a
    test or a worker can choose it through the environment)."""
    return WINDOWS or os.environ.get(ENV, "").strip().lower() == "portable"


def strategy() -> str:
    return "portable" if portable() else "native"

"""Execution modes behind one interface: see base.Runner."""

# a process-mode worker's memory cap: address space (RLIMIT_AS), else RSS growth. Here,
# not in processes.py, so that settings can name it without importing the runner
DEFAULT_MEMORY_LIMIT = 4 << 30

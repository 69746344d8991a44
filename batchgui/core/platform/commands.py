"""Command lines: splitting a template into words, and running a shell script.

split(template)  POSIX: shlex (the shell's rules); Windows: mslex, the rules
                 of the C runtime that Windows programs parse argv with
shell_argv(script, name, args)  POSIX: /bin/sh -c SCRIPT NAME ARGS... (the
                 arguments arrive as "$1"...: file names are never code);
                 Windows: cmd /d /s /c SCRIPT, and only without arguments,
                 because cmd has no way to receive them as data
"""

from __future__ import annotations

import shlex

from batchgui.core.platform import WINDOWS

POSIX_SHELL = "/bin/sh"


class ShellUnavailable(ValueError):
    """The system's shell cannot run this script safely."""


def split(template: str) -> list[str]:
    if WINDOWS:
        import mslex

        return list(mslex.split(template))
    return shlex.split(template)


def shell_argv(script: str, name: str, args: list[str]) -> list[str]:
    if WINDOWS:
        if args:
            raise ShellUnavailable(
                "on Windows --shell cannot pass file names to cmd safely; "
                "run the command without --shell"
            )
        return ["cmd", "/d", "/s", "/c", script]
    return [POSIX_SHELL, "-c", script, name, *args]


def join(argv: list[str]) -> str:
    """The command line a user could paste into this system's shell to run argv."""
    if WINDOWS:
        import mslex

        return str(mslex.join(argv))
    return shlex.join(argv)

"""Command templates: from `gzip -k {path}` to an argv, with file names always
passed as whole arguments, never as text a shell or interpreter reads as code.

    template ─► placeholders checked ─► words (shlex; mslex on Windows: core/platform/
    commands.py), or one script (--shell)
        ─► a word that is a shell script (`sh -c '… {name} …'`, or the whole
           template with --shell): each placeholder becomes a positional
           parameter ("$1", "$2", …, or ${1} inside double quotes) and the
           values follow the script as arguments, so `$(…)` or `;` in a file
           name is just text. A placeholder inside single quotes cannot be
           given that way: refused, with the fix.
        ─► code given to another interpreter (`python -c`, `perl -e`, `cmd /c`,
           `powershell -Command`) with a placeholder in it: refused.
        ─► values: a relative name starting with `-` becomes `./-name`, so a
           command never reads it as an option.
"""

from __future__ import annotations

import functools
import os
import string
from dataclasses import dataclass

from batchgui.core.platform import commands

PLACEHOLDERS = {
    "path": "the file's absolute path",
    "name": "its name",
    "stem": "its name without the last extension",
    "ext": "its last extension, with the dot",
    "parent": "its folder",
    "rel": "its path relative to the folder you gave",
    "out": "its output folder (created when the command names it)",
}
RELATIVE = ("name", "stem", "rel")  # values that could look like options
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh"}
# interpreters whose next word after the flag is code: a file name must not be in it
CODE_FLAGS = {
    "python": ("-c",),
    "python3": ("-c",),
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "node": ("-e", "--eval", "-p", "--print"),
    "php": ("-r",),
    "cmd": ("/c", "/k", "/C", "/K"),
    "cmd.exe": ("/c", "/k", "/C", "/K"),
    "powershell": ("-c", "-command", "-Command"),
    "powershell.exe": ("-c", "-command", "-Command"),
    "pwsh": ("-c", "-command", "-Command"),
}
_OTHER_SHELLS = {"fish", "csh", "tcsh"}  # their -c script is code, but not POSIX: refused
SCRIPT_NAME = "batchgui"  # $0 of a script we pass names to


class TemplateError(ValueError):
    """A template batchgui will not run; the message says why and how to fix it."""


def placeholders_in(template: str) -> set[str]:
    """The fields a template names; TemplateError for an unknown or malformed one."""
    return {field for _, field in _pieces(template) if field is not None}


def _pieces(template: str) -> list[tuple[str, str | None]]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(
            f"bad command template: {exc} (write {{{{ and }}}} for braces)"
        ) from None
    pieces: list[tuple[str, str | None]] = []
    for literal, field_name, spec, conversion in parsed:
        if field_name is not None and (field_name not in PLACEHOLDERS or spec or conversion):
            known = " ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise TemplateError(
                f"unknown placeholder {{{field_name}}} in the command (known: {known})"
            )
        pieces.append((literal, field_name))
    return pieces


def shell_script(template: str, first: int = 1) -> tuple[str, tuple[str, ...]]:
    """The template as a shell script with positional parameters where its
    placeholders were, and the fields in parameter order (${first} first)."""
    order: list[str] = []
    out: list[str] = []
    scanner = _ShellQuotes()
    for literal, field in _pieces(template):
        out.append(literal)
        scanner.feed(literal)
        if field is None:
            continue
        if field not in order:
            order.append(field)
        number = order.index(field) + first
        where = scanner.context
        if where in ("single", "ansi"):
            raise TemplateError(
                f"{{{field}}} is inside single quotes, where a file name cannot be passed "
                f"safely; remove the quotes around it (batchgui quotes it for you)"
            )
        out.append(f"${{{number}}}" if where == "double" else f'"${{{number}}}"')
    if scanner.context != "normal":
        raise TemplateError("the command has unbalanced quotes or an unclosed $( or `")
    return "".join(out), tuple(order)


class _ShellQuotes:
    """Follows POSIX shell quoting through a script, to know where each
    placeholder stands: in plain text, in "double" or in 'single' quotes."""

    def __init__(self) -> None:
        self.stack = ["normal"]
        self._escape = False
        self._dollar = False

    @property
    def context(self) -> str:
        top = self.stack[-1]
        return "normal" if top in ("paren", "backtick") else top

    def feed(self, text: str) -> None:
        for char in text:
            self._char(char)

    def _char(self, char: str) -> None:
        top = self.stack[-1]
        if self._escape:
            self._escape = False
            return
        dollar, self._dollar = self._dollar, False
        if top == "single":
            if char == "'":
                self.stack.pop()
            return
        if top == "ansi":
            if char == "\\":
                self._escape = True
            elif char == "'":
                self.stack.pop()
            return
        if char == "\\":
            self._escape = True
        elif char == "$":
            self._dollar = True
        elif char == "`":
            if top == "backtick":
                self.stack.pop()
            else:
                self.stack.append("backtick")
        elif char == "(" and dollar:
            self.stack.append("paren")
        elif top == "double":
            if char == '"':
                self.stack.pop()
        elif char == "'":
            self.stack.append("ansi" if dollar else "single")
        elif char == '"':
            self.stack.append("double")
        elif char == "(" and top == "paren":
            self.stack.append("paren")
        elif char == ")" and top == "paren":
            self.stack.pop()


@dataclass(frozen=True)
class Command:
    """A template compiled once per batch."""

    words: tuple[str, ...]  # format templates, one per argv word
    shell: bool
    uses_out: bool
    script_at: int | None = None  # the word that is a shell script given names positionally
    script: str = ""
    fields: tuple[str, ...] = ()  # the script's positional parameters, in order
    add_name: bool = True  # $0 comes from us (nothing follows the script in the template)

    def argv(self, values: dict[str, str]) -> list[str]:
        values = safe_values(values)
        if self.shell:
            return commands.shell_argv(self.script, SCRIPT_NAME, [values[f] for f in self.fields])
        argv = [word.format_map(values) for word in self.words]
        if self.script_at is not None:
            argv[self.script_at] = self.script
            tail = [values[f] for f in self.fields]
            argv.extend([SCRIPT_NAME, *tail] if self.add_name else tail)
        return argv


def safe_values(values: dict[str, str]) -> dict[str, str]:
    """`-x.txt` as `./-x.txt`: a relative name never reads as an option."""
    if not any(values.get(k, "").startswith("-") for k in RELATIVE):
        return values
    fixed = dict(values)
    for key in RELATIVE:
        if fixed.get(key, "").startswith("-"):
            fixed[key] = "." + os.sep + fixed[key]
    return fixed


@functools.lru_cache(maxsize=32)
def compile_command(template: str, shell: bool) -> Command:
    """TemplateError for a template that would hand a file name to code as text."""
    uses_out = "out" in placeholders_in(template)
    if shell:
        script, fields = shell_script(template)
        if fields:
            try:  # a system whose shell cannot take file names as data refuses now
                commands.shell_argv(script, SCRIPT_NAME, ["x"] * len(fields))
            except commands.ShellUnavailable as exc:
                raise TemplateError(str(exc)) from None
        return Command((template,), True, uses_out, script=script, fields=fields)
    try:
        words = tuple(commands.split(template))
    except ValueError as exc:
        raise TemplateError(f"cannot split the command into words: {exc}") from None
    for index, word in enumerate(words):
        program = os.path.basename(word)
        code = _code_word(words, index)
        if code is None or not placeholders_in(words[code]):
            continue
        if program in SHELLS:
            # words after the script are its $0, $1, ...: ours come after them
            extra = len(words) - code - 1
            script, fields = shell_script(words[code], first=max(1, extra))
            return Command(words, False, uses_out, code, script, fields, add_name=extra == 0)
        raise TemplateError(
            f"a placeholder is in the code given to {program} {words[code - 1]}, where a "
            "file name would be read as code; pass it as a separate argument instead"
        )
    return Command(words, False, uses_out)


def _code_word(words: tuple[str, ...], index: int) -> int | None:
    """If words[index] is a shell or interpreter, the index of the code it is given."""
    program = os.path.basename(words[index])
    if program in SHELLS or program in _OTHER_SHELLS:
        for position in range(index + 1, len(words)):
            word = words[position]
            if not word.startswith("-") or word == "--":
                return None
            if "c" in word.lstrip("-") and not word.startswith("--"):
                return position + 1 if position + 1 < len(words) else None
            if word == "--command":
                return position + 1 if position + 1 < len(words) else None
        return None
    flags = CODE_FLAGS.get(program) or (("-c",) if program.startswith("python") else ())
    for position in range(index + 1, len(words) - 1):
        if words[position] in flags:
            return position + 1
    return None

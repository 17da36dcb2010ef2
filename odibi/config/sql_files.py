"""``sql_file:`` steps: read a query from a file beside the config, and map SQL positions back into it.

The loader reads the file when it builds the step (so ``${...}`` references in it are resolved with the
same vars, environment and clock as the YAML), and hands the text on as the step's ``sql``. A position
sqlglot reports in that text is mapped back through the substitutions into the file itself, so an error
points at the ``.sql`` file's line and column, not at the YAML key.

The path is relative to the config file that names it and must stay inside that file's folder (the
project): an absolute path, a URI, or ``..`` / a symbolic link that climbs out is refused, as paths of
local connections are (docs/safety.md).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from odibi.errors import ConfigError, Location

_ABSOLUTE = re.compile(r"^(?:[/\\~]|[A-Za-z]:|[A-Za-z][A-Za-z0-9+.-]*://)")
HINT = "give a path relative to the config file, inside the project folder (e.g. queries/clean.sql)"


@dataclass(frozen=True)
class SqlFile:
    """A SQL text read from a file: where it lives, and the substitutions made in it."""

    file: str  # as shown to users: the config's folder joined with the path as written
    text: str  # the file's content as written
    sql: str  # the text after interpolation (the step's SQL)
    shifts: tuple[tuple[int, int, int], ...] = ()  # (start, end, length of the value) per reference

    def locate(self, line: int, col: int) -> Location:
        """The file position of 1-based (line, col) in the interpolated text."""
        offset = _offset(self.sql, line, col)
        shift = 0
        for start, end, length in self.shifts:
            if offset < start + shift:
                break
            if offset < start + shift + length:  # inside a substituted value: the reference itself
                offset = start + shift
                break
            shift += length - (end - start)
        source = max(0, min(offset - shift, len(self.text)))
        before = self.text[:source]
        return Location(self.file, before.count("\n") + 1, source - (before.rfind("\n") + 1) + 1)


def _offset(text: str, line: int, col: int) -> int:
    pos = 0
    for _ in range(max(0, line - 1)):
        nxt = text.find("\n", pos)
        if nxt < 0:
            return len(text)
        pos = nxt + 1
    return pos + max(0, col - 1)


def read(value: str, config_file: str, where: Location, project_root: Path | None = None) -> tuple[str, str]:
    """(the path shown to users, the file's text) of ``sql_file: value``; a located error otherwise.

    The file must be inside ``project_root`` (default: the config file's folder)."""
    if not value.strip():
        raise ConfigError("sql_file is empty", location=where, hint=HINT)
    if _ABSOLUTE.match(value):
        raise ConfigError(f"sql_file '{value}' is not a relative path", location=where, hint=HINT)
    if "\x00" in value:
        raise ConfigError("sql_file holds a NUL character", location=where, hint=HINT)
    base = Path(config_file).parent
    shown = os.path.normpath(os.path.join(os.path.dirname(config_file), value))
    try:
        target = (base / value).resolve()
        root = (project_root or base).resolve()
        if not target.is_relative_to(root):
            raise ConfigError(
                f"sql_file '{value}' leads outside the project folder ({root})",
                location=where,
                hint=HINT + "; `..` and symbolic links may not climb out of it",
            )
        if not target.exists():
            raise ConfigError(f"sql file not found: {shown}", location=where, hint="check the path; " + HINT)
        if not target.is_file():
            raise ConfigError(f"sql_file '{value}' is not a file", location=where, hint=HINT)
        text = target.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"sql file {shown} is not UTF-8 text (byte {exc.start})", location=where) from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop (Python < 3.13)
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"cannot read sql file {shown}: {reason}", location=where) from None
    if "\x00" in text:
        raise ConfigError(f"sql file {shown} contains a NUL byte: is it a binary file?", location=where)
    return shown, text

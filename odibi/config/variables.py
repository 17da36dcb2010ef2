"""The ``${...}`` references a config may hold, and the values of ``vars``, ``--var`` and dates.

One regular expression finds every reference, so the loader walks a string once whatever kinds it holds:

- ``${NAME}`` / ``${NAME:-default}`` and their explicit synonyms ``${env:NAME}`` / ``${env:NAME:-default}``:
  environment variables (secret handling stays in the loader and ``secret_fields.py``);
- ``${vars.name}``: a value of the top-level ``vars:`` block, which ``--var name=value`` overrides;
- ``${date:SPEC}`` / ``${date:SPEC|FORMAT}``: a date relative to the load's one reading of the clock
  (``today``, ``yesterday``, ``tomorrow``, ``-7d``, ``+1d``, ``-2w``), written with ``strftime``'s FORMAT
  (default ISO ``%Y-%m-%d``). The format follows a ``|`` rather than a ``:`` because formats often hold
  ``:`` (``%H:%M``) and ``:-`` already means "default" in ``${NAME:-default}``.
- ``$$`` is a literal ``$``.

The loader resolves references with it, the CLI parses ``--var`` with it; it knows nothing of YAML or
positions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from odibi.errors import UsageError

REFERENCE = re.compile(
    r"\$\$"
    r"|\$\{(?P<kind>vars|env|date)(?P<sep>[.:])(?P<body>[^}]*)\}"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
)
WHOLE_VAR = re.compile(r"\$\{vars\.([A-Za-z_][A-Za-z0-9_]*)\}")  # a scalar that is one var: keeps its type
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)
SEPARATOR = {"vars": ".", "env": ":", "date": ":"}
DATE_FORMAT = "%Y-%m-%d"
DATE_FORMS = "today, yesterday, tomorrow, -7d, +1d, -2w (optionally |FORMAT, e.g. ${date:-1d|%Y%m%d})"
_NAMED_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<n>\d{1,5})(?P<unit>[dw])")

Clock = Callable[[], date]


def utc_today() -> date:
    """The default clock: today's date in UTC (DESIGN.md §4: times are UTC), the same on every machine."""
    return datetime.now(timezone.utc).date()


@dataclass
class Scope:
    """What ``${vars.*}`` and ``${date:*}`` resolve against during one load.

    A load of several files (``imports:``) shares one scope, so they see the same vars and the same
    "today": the clock is read once, when the first date is resolved.
    """

    overrides: dict[str, str] = field(default_factory=dict)  # --var name=value
    clock: Clock = utc_today
    values: dict[str, Any] = field(default_factory=dict)  # declared vars, overrides applied
    project_root: Path | None = None  # the project's folder: sql_file paths stay inside it
    _today: date | None = None

    def today(self) -> date:
        if self._today is None:
            now = self.clock()
            self._today = now.date() if isinstance(now, datetime) else now
        return self._today

    def declare(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add a vars: block's values, with the --var overrides of the names it declares applied."""
        out = {
            name: coerce(name, self.overrides[name], value) if name in self.overrides else value
            for name, value in values.items()
        }
        self.values.update(out)
        return out

    def check_overrides(self) -> None:
        """A usage error for a --var that no vars: block declared."""
        error = undeclared(self.overrides, self.values)
        if error is not None:
            raise error


_CURRENT: ContextVar[Scope | None] = ContextVar("odibi_variables_scope", default=None)


@contextmanager
def scoped(
    overrides: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    *,
    project_root: Path | None = None,
) -> Iterator[Scope]:
    """One scope for every file loaded inside the block (a project and its imports): the loader uses it
    when it is not handed one, so the files see one set of vars and one "today"."""
    scope = Scope(dict(overrides or {}), clock or utc_today, project_root=project_root)
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def current() -> Scope | None:
    """The scope of the enclosing :func:`scoped` block, if any."""
    return _CURRENT.get()


class BadReference(ValueError):
    """A ``${...}`` that cannot be resolved; the loader locates it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def date_text(body: str, today: date) -> str:
    """The text of ``${date:BODY}`` given the load's ``today``."""
    spec, bar, fmt = body.partition("|")
    spec = spec.strip()
    if spec in _NAMED_DAYS:
        day = today + timedelta(days=_NAMED_DAYS[spec])
    elif (m := _OFFSET.fullmatch(spec)) is not None:
        days = int(m["n"]) * (7 if m["unit"] == "w" else 1)
        day = today + timedelta(days=days if m["sign"] == "+" else -days)
    else:
        raise BadReference(f"unknown date '{spec}' in ${{date:{body}}}", hint=f"dates: {DATE_FORMS}")
    if bar and not fmt:
        raise BadReference(f"empty date format in ${{date:{body}}}", hint="e.g. ${date:today|%Y%m%d}")
    try:
        return day.strftime(fmt or DATE_FORMAT)
    except ValueError as exc:
        raise BadReference(
            f"bad date format '{fmt}': {exc}", hint="strftime codes: %Y %m %d %j %U ..."
        ) from None


def suggest(name: str, options: Iterable[str]) -> str | None:
    """The closest of ``options`` to ``name`` (as config.base.suggest, without importing pydantic)."""
    matches = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


def text_of(value: Any) -> str:
    """A var's value as text inside a longer string (booleans as YAML writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unknown_var(name: str, declared: Iterable[str]) -> BadReference:
    names = sorted(declared)
    near = suggest(name, names)
    message = f"unknown variable 'vars.{name}'" + (f" (did you mean 'vars.{near}'?)" if near else "")
    if names:
        hint = f"declared vars: {', '.join(names)}; add '{name}' to the top-level vars: block"
    else:
        hint = f"declare it in a top-level block: vars: {{{name}: ...}}"
    return BadReference(message, hint)


def parse_assignments(items: Iterable[str] | None) -> dict[str, str]:
    """``--var name=value`` options as a mapping (a later one wins); malformed ones are usage errors."""
    out: dict[str, str] = {}
    for item in items or ():
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or not NAME.fullmatch(name):
            raise UsageError(
                f"--var '{item}' is not name=value", hint="e.g. --var run_date=2024-01-31 (repeatable)"
            )
        out[name] = value
    return out


def undeclared(overrides: Mapping[str, Any], declared: Iterable[str]) -> UsageError | None:
    """A usage error for the first ``--var`` whose name ``vars:`` does not declare (a typo, most likely)."""
    names = sorted(declared)
    for name in overrides:
        if name not in names:
            near = suggest(name, names)
            return UsageError(
                f"--var {name}: no variable '{name}' is declared in vars:"
                + (f" (did you mean '{near}'?)" if near else ""),
                hint="--var overrides a var the config declares; add it to the top-level vars: block"
                + (f" (declared: {', '.join(names)})" if names else ""),
            )
    return None


def coerce(name: str, text: str, declared: Any) -> Any:
    """A ``--var`` value, of the declared value's type (so a whole-scalar ``${vars.n}`` keeps it)."""
    if isinstance(declared, bool):
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        raise UsageError(f"--var {name}={text}: '{name}' is a boolean in vars:", hint="give true or false")
    if isinstance(declared, int | float):
        kind = int if isinstance(declared, int) else float
        try:
            return kind(text.strip())
        except ValueError:
            word = "an integer" if kind is int else "a number"
            raise UsageError(
                f"--var {name}={text}: '{name}' is {word} in vars:", hint=f"give {word}"
            ) from None
    return text

"""Safe YAML loading that remembers where every key and value came from.

We compose the YAML into nodes with PyYAML's safe composer (the C one when present) and build plain
Python values ourselves, so that we can: keep a line/column for every key and value, reject duplicate
keys, reject any tag that is not a plain YAML type (``!!python/object`` and friends), stop alias bombs
and absurd nesting early, and interpolate ``${VAR}`` / ``${VAR:-default}`` from the environment, plus
``${vars.name}`` and ``${date:...}`` (config/variables.py). A ``sql_file:`` step's file is read here too,
so that it is interpolated with the same values (config/sql_files.py).
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from odibi import secrets
from odibi.config import sql_files
from odibi.config import variables as refs
from odibi.config.sql_files import SqlFile
from odibi.config.variables import BadReference, Clock, Scope
from odibi.errors import ConfigError, ConfigErrors, Location

try:  # The C composer is faster and caps nesting itself.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

# An alias bomb is a small text that expands to a huge value. The limit is relative to the document's own
# size (its composed nodes): expanding to at most EXPANSION_RATIO times that, plus EXPANSION_FLOOR values,
# is fine whatever the size (a 100,000-node project holds millions of values and no alias), while a text
# whose aliases multiply it far beyond what it holds is refused before anything is expanded.
EXPANSION_RATIO = 10
EXPANSION_FLOOR = 100_000
MAX_DEPTH = 200

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_PLAIN_SCALARS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:binary",
}
_VAR = refs.REFERENCE  # $$ and every ${...} form

Path_ = tuple  # a path into the document: keys and list indexes


@dataclass
class Span:
    """Where a value starts in the source, and how it was written (for SQL offsets)."""

    line: int  # 1-based
    col: int  # 1-based
    style: str | None = None  # YAML scalar style: None plain, "'", '"', "|", ">"
    end_line: int | None = None  # the line the value ends on (1-based), when known
    file: str | None = None  # the file it is written in, when not the source map's own (imports:)


@dataclass(frozen=True)
class Interpolation:
    """One ``${VAR}`` of the document: the variable, the value path it fills, and where it is written."""

    name: str
    path: tuple  # the value's path (for a mapping key: the mapping's path, with ``key`` set)
    location: Location  # where the scalar holding it starts
    key: bool = False
    end_line: int = 0  # the line the scalar ends on
    nth: int = 0  # this is the nth (0-based) ``needle`` of the scalar
    needle: str = ""  # how the reference starts (default ``${name``; ``${env:name``, ``${vars.name``)
    exact: bool = False  # ``location`` is the reference itself (a sql_file's text), not its scalar

    @property
    def reference(self) -> str:
        """The reference as the user wrote it, without a default (``${env:NAME}``)."""
        return (self.needle or "${" + self.name) + "}"

    def precise(self, text: str) -> Location:
        """The position of this ``${name`` itself, found in the scalar's source text."""
        if self.exact:
            return self.location
        lines = text.splitlines()
        needle, seen = self.needle or "${" + self.name, -1
        for line in range(self.location.line, max(self.end_line, self.location.line) + 1):
            src = lines[line - 1] if 0 < line <= len(lines) else ""
            col = self.location.col - 1 if line == self.location.line else 0
            while (col := src.find(needle, col)) >= 0:
                seen += 1
                if seen == self.nth:
                    return Location(self.location.file, line, col + 1)
                col += len(needle)
        return self.location


@dataclass
class SourceMap:
    """Positions of every key and value of one loaded document.

    A project composed of several files (``imports:``, config/compose.py) has one map whose spans say
    which file they are in (``Span.file``); ``texts`` holds those other files' text."""

    file: str
    text: str
    values: dict[tuple, Span] = field(default_factory=dict)
    keys: dict[tuple, Span] = field(default_factory=dict)
    interpolations: list[Interpolation] = field(default_factory=list)  # checked by config.secret_fields
    texts: dict[str, str] = field(default_factory=dict)  # file → text of the other files spans name
    sql_files: dict[tuple, SqlFile] = field(default_factory=dict)  # a sql_file step's path → its file

    def text_of(self, file: str | None = None) -> str:
        """The text of ``file`` (default: this map's own file)."""
        return self.text if file is None or file == self.file else self.texts.get(file, "")

    def lines(self, file: str | None = None) -> list[str]:
        return self.text_of(file).splitlines()

    def locate(self, path: tuple, *, key: bool = False) -> Location:
        """The location of ``path``, falling back to the nearest known parent."""
        path = tuple(path)
        while True:
            table = self.keys if key else self.values
            span = table.get(path) or self.keys.get(path) or self.values.get(path)
            if span is not None:
                return Location(span.file or self.file, span.line, span.col)
            if not path:
                return Location(self.file, 1, 1)
            path = path[:-1]

    def span(self, path: tuple) -> Span | None:
        return self.values.get(tuple(path))


def load_file(
    path: str | os.PathLike[str],
    *,
    env: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    clock: Clock | None = None,
    scope: Scope | None = None,
) -> tuple[Any, SourceMap]:
    """Load a YAML config file; returns the data and its source map.

    ``variables`` override the file's ``vars:`` (``--var``); ``clock`` gives today's date for ``${date:...}``
    (default: UTC today); a ``scope`` shared by the files of one load (by default the enclosing
    :func:`odibi.config.variables.scoped` block's) replaces both."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}", hint="check the path") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file is not UTF-8 text (byte {exc.start})", location=Location(str(p), 1, 1)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    return load_text(text, str(p), env=env, variables=variables, clock=clock, scope=scope)


def load_text(
    text: str,
    file: str = "<string>",
    *,
    env: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    clock: Clock | None = None,
    scope: Scope | None = None,
) -> tuple[Any, SourceMap]:
    """Load YAML text; every problem is a located :class:`ConfigError` (a ``--var`` that ``vars:`` does
    not declare: a :class:`~odibi.errors.UsageError`)."""
    smap = SourceMap(file=file, text=text)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ConfigError(
            "config contains a NUL byte: is this a binary file?", location=Location(file, line, 1)
        )
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        context = exc.context or ""
        # "while scanning a quoted scalar" / "a simple key" / "parsing a flow sequence": the problem is
        # found later (often at the end of the file); the context mark is where the user must look.
        use_context = exc.context_mark is not None and any(
            k in context for k in ("quoted scalar", "simple key", "flow sequence", "flow mapping")
        )
        mark = exc.context_mark if use_context else (exc.problem_mark or exc.context_mark)
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        problem = exc.problem or context or "invalid YAML"
        if use_context:
            problem = _explain(context, problem)
        if "nesting depth" in problem:
            problem = "YAML is nested too deeply"
        raise ConfigError(f"YAML syntax error: {problem}", location=loc) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML syntax error: {exc}", location=Location(file, 1, 1)) from None
    except RecursionError:
        raise ConfigError("YAML is nested too deeply", location=Location(file, 1, 1)) from None
    env = os.environ if env is None else env
    secrets.register_env(env)  # secret-named variables are masked in every output, used or not
    scope = scope or refs.current()  # a project's files share one scope (variables.scoped)
    own = scope is None  # one file, one load: this call checks the --var overrides
    if scope is None:
        scope = Scope(dict(variables or {}), clock or refs.utc_today)
    if node is None:
        if own:
            scope.check_overrides()
        return None, smap
    builder = _Builder(smap, env, scope)
    builder.check_expansion(node)
    builder.declare_vars(node)
    if own:
        scope.check_overrides()
    data = builder.build(node, (), 0)
    builder.raise_errors()
    return data, smap


def expansion_limit(written: int) -> int:
    """How many values a document holding ``written`` distinct value nodes may expand to."""
    return EXPANSION_RATIO * written + EXPANSION_FLOOR


def _children(node: yaml.Node) -> list[yaml.Node]:
    """The nodes that become values under ``node`` (mapping values, merges included; list items)."""
    if isinstance(node, yaml.MappingNode):
        return [value for _, value in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _explain(context: str, problem: str) -> str:
    if "quoted scalar" in context:
        return f"unclosed quote ({problem})"
    if "simple key" in context:
        return f"{problem} (a missing ':' after a key?)"
    if "flow sequence" in context:
        return f"unclosed '[' ({problem})"
    if "flow mapping" in context:
        return f"unclosed '{{' ({problem})"
    return f"{context}: {problem}"


class _Builder:
    """Turns composed YAML nodes into Python values, recording positions."""

    def __init__(self, smap: SourceMap, env: Any, scope: Scope | None = None) -> None:
        self.smap = smap
        self.env = env
        self.scope = scope or Scope()
        self.errors: list[ConfigError] = []  # unresolved references and sql files, reported together
        self.vars_node: yaml.Node | None = None  # the root's vars: value, built first (declare_vars)
        self.vars_value: dict | None = None
        self.in_vars = False
        self.count = 0
        self.written = 0  # distinct value nodes in the text (check_expansion)
        self.limit = EXPANSION_FLOOR  # values build() may make (check_expansion sets it from the text)
        self.active: set[int] = set()
        self.constructor = yaml.constructor.SafeConstructor()

    def _loc(self, node: yaml.Node) -> Location:
        return Location(self.smap.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def check_expansion(self, root: yaml.Node) -> None:
        """Reject an alias bomb before expanding it: count the values each node expands to (aliases
        share nodes, so this is linear in the text) and the distinct nodes the text holds; when the
        expansion passes the limit those allow (:func:`expansion_limit`), point at the value where
        build() would pass it."""
        sizes: dict[int, int] = {}
        # counts are capped to keep them small ints (a chain of aliases doubles them per line); a value
        # node takes about a character of text at least, so the limit stays far below this cap
        cap = expansion_limit(2 * len(self.smap.text) + 2) + 1
        scalar = yaml.ScalarNode
        # (node, None): to visit; (node, its children): children sized, size the node
        stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]
        while stack:
            node, kids = stack.pop()
            if kids is not None:
                total = 1
                for child in kids:
                    total += sizes[id(child)]
                sizes[id(node)] = total if total < cap else cap
                continue
            if id(node) in sizes:
                continue
            if isinstance(node, scalar):
                sizes[id(node)] = 1
                continue
            kids = _children(node)
            sizes[id(node)] = 0  # in progress: a recursive alias counts 0 here (build rejects it)
            stack.append((node, kids))
            for child in kids:  # scalars (most values) are sized here, without a trip through the stack
                if id(child) not in sizes:
                    if isinstance(child, scalar):
                        sizes[id(child)] = 1
                    else:
                        stack.append((child, None))
        self.written = len(sizes)  # every distinct value node, each counted once
        self.limit = expansion_limit(self.written)
        if sizes[id(root)] <= self.limit:
            return
        node, budget = root, self.limit  # walk to the value that build() would reject
        while budget > 0:
            budget -= 1
            for child in _children(node):
                if sizes[id(child)] > budget:
                    node = child
                    break
                budget -= sizes[id(child)]
            else:
                break
        raise self._bomb(node)

    def _bomb(self, node: yaml.Node) -> ConfigError:
        return ConfigError(
            f"config expands to more than {self.limit:,} values from the {self.written:,} it holds "
            "(an alias bomb?)",
            location=self._loc(node),
            hint=f"a document may expand to {EXPANSION_RATIO}x the values it holds "
            f"(+{EXPANSION_FLOOR:,}); write repeated blocks out, or use fewer nested aliases",
        )

    def build(self, node: yaml.Node, path: tuple, depth: int) -> Any:
        self.count += 1
        if self.count > self.limit:
            raise self._bomb(node)
        if depth > MAX_DEPTH:
            raise ConfigError(f"config is nested deeper than {MAX_DEPTH} levels", location=self._loc(node))
        style = getattr(node, "style", None)
        self.smap.values.setdefault(
            path,
            Span(node.start_mark.line + 1, node.start_mark.column + 1, style, node.end_mark.line + 1),
        )
        if id(node) in self.active:
            raise ConfigError("recursive YAML alias", location=self._loc(node))
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, _MAP)
            self.active.add(id(node))
            try:
                return self._mapping(node, path, depth)
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, _SEQ)
            self.active.add(id(node))
            try:
                return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        return self._scalar(node, path)

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise ConfigError(
                f"YAML tag '{node.tag}' is not allowed in odibi configs",
                location=self._loc(node),
                hint="configs hold plain data only; remove the tag",
            )

    def _mapping(self, node: yaml.MappingNode, path: tuple, depth: int) -> dict:
        out: dict[Any, Any] = {}
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("mapping keys must be plain scalars", location=self._loc(key_node))
            key = self._scalar(key_node, path, key=True)
            if not isinstance(key, str):
                # YAML 1.1 reads a key `on:` (join's param) or `yes:` as a boolean: keep the word
                key = key_node.value.lower() if isinstance(key, bool) else str(key)
            if key in out:
                first = self.smap.keys[(*path, key)]
                raise ConfigError(
                    f"duplicate key '{key}' (first defined at line {first.line})",
                    location=self._loc(key_node),
                    hint="remove one of them",
                )
            self.smap.keys.setdefault(
                (*path, key), Span(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            )
            if value_node is self.vars_node and not path:
                out[key] = self.vars_value  # built and checked first (declare_vars)
                continue
            out[key] = self.build(value_node, (*path, key), depth + 1)
        # '<<' merges last: the mapping's own keys override merged ones (and keep their positions)
        for value_node in merges:
            merged = self.build(value_node, path, depth + 1)
            items = merged if isinstance(merged, list) else [merged]
            for item in items:
                if not isinstance(item, dict):
                    raise ConfigError("'<<' merge needs a mapping", location=self._loc(value_node))
                for k, v in item.items():
                    out.setdefault(k, v)
        if "sql_file" in out and len(path) >= 2 and path[-2] == "steps" and isinstance(path[-1], int):
            self._read_sql_file(out, path)
        return out

    def _scalar(self, node: yaml.Node, path: tuple = (), *, key: bool = False) -> Any:
        if node.tag not in _PLAIN_SCALARS:
            raise ConfigError(
                f"YAML tag '{node.tag}' is not allowed in odibi configs",
                location=self._loc(node),
                hint="configs hold plain data only; remove the tag",
            )
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # keep dates as written; models parse them where they mean a date
        if node.tag == _STR:
            return self._interpolate(node.value, node, path, key)
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as exc:
            raise ConfigError(f"bad YAML value: {exc}", location=self._loc(node)) from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            reason = str(exc).split(";")[0]
            raise ConfigError(f"bad YAML value: {reason}", location=self._loc(node)) from None

    def _interpolate(self, value: str, node: yaml.Node, path: tuple, key: bool) -> Any:
        if "$" not in value:
            return value
        # a plain scalar that is one ${vars.name} keeps the var's type (as `n: 10` is an int, `n: "10"` not)
        whole = refs.WHOLE_VAR.fullmatch(value) if not node.style and not key else None
        if whole is not None and not self.in_vars and whole[1] in self.scope.values:
            return self.scope.values[whole[1]]
        where, end = self._loc(node), node.end_mark.line + 1

        def place(name: str, needle: str, nth: int, start: int) -> Interpolation:
            return Interpolation(name, path, where, key, end, nth, needle)

        return self._substitute(value, place)

    def _substitute(self, value: str, place: Any, shifts: list | None = None) -> str:
        """``value`` with every reference resolved; ``shifts`` collects (start, end, length) of each.

        ``place(name, needle, nth, start)`` makes the :class:`Interpolation` of the reference at ``start``
        (the ``nth`` of its ``needle`` in ``value``)."""
        seen: dict[str, int] = {}

        def sub(match: re.Match[str]) -> str:
            out = "$" if match[0] == "$$" else self._resolve(match, place, seen)
            if shifts is not None:
                shifts.append((match.start(), match.end(), len(out)))
            return out

        return _VAR.sub(sub, value)

    def _resolve(self, match: re.Match[str], place: Any, seen: dict[str, int]) -> str:
        kind, body, sep = match["kind"], match["body"], match["sep"]

        def use(name: str, needle: str) -> Interpolation:
            nth = seen[needle] = seen.get(needle, -1) + 1
            return place(name, needle, nth, match.start())

        if kind is None:
            return self._env(match["name"], match["default"], use(match["name"], "${" + match["name"]))
        needle = "${" + kind + sep
        if kind == "env" and sep == ":" and (env := refs.ENV_BODY.fullmatch(body)) is not None:
            return self._env(env["name"], env["default"], use(env["name"], needle + env["name"]))
        if kind == "vars" and refs.NAME.fullmatch(body):
            needle += body
        at = use(body, needle)
        try:
            if sep != refs.SEPARATOR[kind]:
                right = "${vars.name}" if kind == "vars" else "${" + kind + ":...}"
                raise BadReference(f"'{match[0]}' is not a reference: write {right}")
            if kind == "date":
                return refs.date_text(body, self.scope.today())
            if kind == "env":
                raise BadReference(f"'{match[0]}' names no environment variable", "write ${env:NAME}")
            if self.in_vars:
                raise BadReference(f"a var's value may not use another var ({match[0]})",
                                   "write the value out, or use ${env:...} / ${date:...}")  # fmt: skip
            if ":-" in body:
                raise BadReference(f"'{match[0]}': a var takes no default", "give its value in vars:")
            if body not in self.scope.values:
                raise refs.unknown_var(body, self.scope.values)
            return refs.text_of(self.scope.values[body])
        except BadReference as bad:
            self.errors.append(ConfigError(bad.message, location=at.precise(self.smap.text), hint=bad.hint))
            return match[0]

    def _env(self, name: str, default: str | None, use: Interpolation) -> str:
        # where each variable lands is checked once the document is validated (secret_fields.py)
        self.smap.interpolations.append(use)
        if name in self.env:
            resolved = str(self.env[name])
            if secrets.is_secret_name(name):
                secrets.register(resolved)
            return resolved
        if default is not None:
            return default
        self.errors.append(
            ConfigError(
                f"environment variable '{name}' is not set",
                location=use.precise(self.smap.text),
                hint=f"export {name}=... or write ${{{name}:-default}}",
            )
        )
        return ""

    def declare_vars(self, root: yaml.Node) -> None:
        """Build the root's ``vars:`` block first (it may use ``${env:...}`` and ``${date:...}``), check
        it, and apply the ``--var`` overrides: every other value may then use ``${vars.name}``."""
        if not isinstance(root, yaml.MappingNode):
            return
        node = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "vars"
                     and k.tag == _STR), None)  # fmt: skip
        if node is None:
            return
        self.in_vars = True
        try:
            value = self.build(node, ("vars",), 1)
        finally:
            self.in_vars = False
        if not isinstance(value, dict):
            raise ConfigError("vars: expected a mapping of name: value", location=self._loc(node),
                              hint="e.g. vars: {run_date: '${date:yesterday}', country: NL}")  # fmt: skip
        for name, item in value.items():
            if not refs.NAME.fullmatch(name):
                raise ConfigError(f"var name '{name}' must be letters, digits and _",
                                  location=self.smap.locate(("vars", name), key=True))  # fmt: skip
            if item is None or isinstance(item, dict | list):
                raise ConfigError(
                    f"var '{name}' needs a single value (a string, number or boolean)",
                    location=self.smap.locate(("vars", name)),
                    hint="lists and mappings cannot be spliced into text; give each value its own var",
                )
        self.vars_node, self.vars_value = node, self.scope.declare(value)

    def _read_sql_file(self, step: dict, path: tuple) -> None:
        """Read a ``sql_file:`` step's file into the step's ``sql`` (interpolated like the YAML)."""
        value, at = step["sql_file"], self.smap.locate((*path, "sql_file"))
        if "sql" in step:
            self.errors.append(ConfigError("a step gives 'sql' or 'sql_file', not both", location=at,
                                           hint="keep the query in one place"))  # fmt: skip
            return
        if not isinstance(value, str):
            return  # the model says what it expects
        try:
            shown, text = sql_files.read(value, self.smap.file, at, self.scope.project_root)
        except ConfigError as err:
            self.errors.append(err)
            return
        starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]  # offsets where lines start

        def place(name: str, needle: str, nth: int, start: int) -> Interpolation:
            line = bisect.bisect_right(starts, start) - 1
            at = Location(shown, line + 1, start - starts[line] + 1)
            return Interpolation(name, (*path, "sql_file"), at, needle=needle, exact=True)

        shifts: list = []
        sql = self._substitute(text, place, shifts)
        step["sql"] = sql
        self.smap.sql_files[(*path, "sql_file")] = SqlFile(shown, text, sql, tuple(shifts))

    def raise_errors(self) -> None:
        if self.errors:
            errors = sorted(self.errors, key=lambda e: (e.location.file, e.location.line, e.location.col)
                            if e.location else ("", 0, 0))  # fmt: skip
            raise errors[0] if len(errors) == 1 else ConfigErrors(errors)

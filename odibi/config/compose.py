"""A project in several files (``imports:``) with per-environment overlays (``environments:``).

The loader reads one YAML text; this module puts the loaded files together into the one document the
models validate, and into one :class:`SourceMap` whose spans name the file each value was written in, so
that every later error (schema, semantics, SQL) points at the file and line to fix. The rules (also in
docs/config.md, "Imports" and "Environments"):

* ``imports:`` paths are relative to the importing file; imported files may import others. Files are
  merged depth-first: each imported file (with its own imports first) comes before the importer, so
  imported pipelines run before the importer's own. A file imported twice is merged once, at its first
  place; a file that imports itself (through others) is an error naming the chain.
* Merging: the top-level lists ``pipelines`` and ``transform_modules`` are concatenated; mappings are
  merged key by key. A connection or pipeline defined in two files, or any other value set in two files,
  is an error naming both places (an override belongs in an environment, not in a second file).
* ``environments: {name: overlay}`` (in any file) are applied over the merged document when chosen
  (``--env``, ``ODIBI_ENV``), in file order: mappings merge recursively, ``pipelines`` entries are matched
  by pipeline name and their ``nodes`` by node name, any other value (lists included) replaces the base's.

A single file without ``imports:`` or ``environments:`` is returned as loaded (no per-node cost).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from odibi.config.base import suggest
from odibi.config.loader import Interpolation, SourceMap, load_file, load_text
from odibi.errors import ConfigError, ConfigErrors, Location

ENV_VAR = "ODIBI_ENV"  # chooses the environment when --env / environment= is not given
_CONCAT = ("pipelines", "transform_modules")  # top-level lists every file adds to
_UNSET = re.compile(r"environment variable '([^']+)' is not set")


def compose(
    path: str | os.PathLike[str], *, environment: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[Any, SourceMap]:
    """The document of the project file ``path``: its imports merged, ``environment``'s overlay applied.

    ``environment`` None means ``$ODIBI_ENV`` (read from ``env``, the variables ``${VAR}`` reads; default
    ``os.environ``), and no overlay when that is unset too."""
    environment, from_var = _chosen(environment, env)
    data, smap = _load_file(str(path), env, environment, None)
    return _compose(data, smap, Path(path).parent, environment, from_var, env)


def compose_text(
    text: str,
    file: str,
    *,
    root: Path,
    environment: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[Any, SourceMap]:
    """Like :func:`compose` for a text (imports are relative to ``root``)."""
    environment, from_var = _chosen(environment, env)
    data, smap = _load_text(text, file, env, environment)
    return _compose(data, smap, root, environment, from_var, env)


def _chosen(environment: str | None, env: Mapping[str, str] | None) -> tuple[str | None, bool]:
    if environment is not None:
        return environment, False
    named = (os.environ if env is None else env).get(ENV_VAR) or None
    return named, named is not None


# --------------------------------------------------------------------------- loading one file


def _load_file(
    path: str, env: Mapping[str, str] | None, environment: str | None, where: Location | None
) -> tuple[Any, SourceMap]:
    try:
        return load_file(path, env=env)  # type: ignore[arg-type]
    except ConfigError as err:
        if err.location is None and where is not None:  # unreadable imported file: at its imports: item
            raise ConfigError(err.message, location=where, hint=err.hint) from None
        if not any(_UNSET.search(e.message) for e in _each(err)):
            raise
        text = Path(path).read_text(encoding="utf-8")
    return _load_text(text, path, env, environment)


def _load_text(
    text: str, file: str, env: Mapping[str, str] | None, environment: str | None
) -> tuple[Any, SourceMap]:
    """``load_text``, tolerating unset variables inside environments not chosen (as dbt renders only the
    chosen target): a prod password need not be set to run dev. Only a failing load pays for this."""
    placeholders: dict[str, str] = {}
    while True:  # each round defers new names, of which the text holds finitely many
        try:
            return load_text(text, file, env=env if not placeholders else {**_env(env), **placeholders})  # type: ignore[arg-type]
        except ConfigError as err:
            names = _deferrable(err, text, environment)
            if names <= placeholders.keys():
                raise
            placeholders.update(dict.fromkeys(names, ""))


def _each(err: ConfigError) -> list[ConfigError]:
    return list(err.errors) if isinstance(err, ConfigErrors) else [err]


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _deferrable(err: ConfigError, text: str, environment: str | None) -> set[str]:
    """The unset variables ``err`` reports inside the overlays of environments other than ``environment``."""
    unset = [(m.group(1), e.location) for e in _each(err) if e.location and (m := _UNSET.search(e.message))]
    if not unset:
        return set()
    ranges = _other_env_ranges(text, environment)
    return {
        name
        for name, loc in unset
        if loc is not None and any(start <= (loc.line - 1, loc.col - 1) < end for start, end in ranges)
    }


def _other_env_ranges(text: str, environment: str | None) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where (0-based line, column: start, end) the overlays of environments other than ``environment`` are."""
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    ranges = []
    for key, value in root.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "environments"
            and isinstance(value, yaml.MappingNode)
        ):
            for name, overlay in value.value:
                if getattr(name, "value", None) != environment:
                    ranges.append(
                        (
                            (overlay.start_mark.line, overlay.start_mark.column),
                            (overlay.end_mark.line, overlay.end_mark.column),
                        )
                    )
    return ranges


# --------------------------------------------------------------------------- imports


def _compose(
    data: Any,
    smap: SourceMap,
    folder: Path,
    environment: str | None,
    from_var: bool,
    env: Mapping[str, str] | None,
) -> tuple[Any, SourceMap]:
    if not isinstance(data, dict) or ("imports" not in data and "environments" not in data):
        # ODIBI_ENV is often exported machine-wide (it also marks production for connections): a project
        # without environments ignores it; only an explicit --env names one it must have
        if environment is not None and not from_var and isinstance(data, dict):
            raise _unknown_environment(environment, from_var, [], Location(smap.file, 1, 1))
        return data, smap
    parts: list[tuple[dict, SourceMap]] = []
    main_key = Path(smap.file).resolve()
    _collect(data, smap, folder, [(main_key, smap.file)], {main_key}, parts, env, environment)
    doc, merged, overlays = _merge(parts)
    names = list(dict.fromkeys(name for name, _, _, _ in overlays))
    if environment is None or (from_var and not names):
        return doc, merged
    if environment not in names:
        place = next((m.locate(("environments",), key=True) for _, _, m, _ in overlays), None)
        raise _unknown_environment(environment, from_var, names, place or Location(smap.file, 1, 1))
    for name, overlay, omap, uses in overlays:
        if name == environment:
            _Overlay(name, merged, omap).apply(doc, overlay, uses)
    return doc, merged


def _collect(
    data: dict,
    smap: SourceMap,
    folder: Path,
    chain: list[tuple[Path, str]],
    seen: set[Path],
    parts: list[tuple[dict, SourceMap]],
    env: Mapping[str, str] | None,
    environment: str | None,
) -> None:
    """Append the parts of ``data``'s imports (depth-first), then ``data`` itself, to ``parts``."""
    imports = data.pop("imports", None)
    if imports is not None and not isinstance(imports, list):
        raise ConfigError(
            "imports: expected a list of YAML files",
            location=smap.locate(("imports",)),
            hint="imports: [shared/connections.yaml, pipelines/silver.yaml]",
        )
    for i, item in enumerate(imports or []):
        where = smap.locate(("imports", i))
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"imports[{i}]: expected the path of a YAML file", location=where)
        target = folder / item
        key = target.resolve()
        shown = os.path.normpath(target)
        if any(key == k for k, _ in chain):
            names = [name for _, name in chain[[k for k, _ in chain].index(key) :]]
            raise ConfigError(
                f"import cycle: {' -> '.join([*names, shown])}",
                location=where,
                hint="a file cannot import itself, directly or through the files it imports",
            )
        if key in seen:
            continue  # already merged at its first place
        if not target.is_file():
            raise ConfigError(
                f"imported file not found: {item} (looked for {shown})",
                location=where,
                hint=f"imports are relative to the importing file ({smap.file})",
            )
        seen.add(key)
        sub, sub_map = _load_file(shown, env, environment, where)
        for span in (*sub_map.values.values(), *sub_map.keys.values()):
            span.file = sub_map.file
        if sub is None:
            continue  # an empty file adds nothing
        if not isinstance(sub, dict):
            raise ConfigError(
                f"an imported file must be a mapping of keys (connections, pipelines, ...), "
                f"not a {type(sub).__name__}",
                location=sub_map.locate(()),
            )
        _collect(sub, sub_map, target.parent, [*chain, (key, shown)], seen, parts, env, environment)
    parts.append((data, smap))


_Overlays = list[tuple[str, Any, SourceMap, list[Interpolation]]]  # name, overlay, its file, its ${VAR}s


def _merge(parts: list[tuple[dict, SourceMap]]) -> tuple[dict, SourceMap, _Overlays]:
    """One document and one source map from the parts (in merge order; the project file is last)."""
    offsets: list[dict[str, int]] = []  # per part: how far its items of each concatenated list move
    counts = dict.fromkeys(_CONCAT, 0)
    for data, _ in parts:
        offsets.append({key: n for key, n in counts.items() if n})
        for key in _CONCAT:
            items = data.get(key)
            counts[key] += len(items) if isinstance(items, list) else 0
    doc: dict = {}
    origin: dict[tuple, SourceMap] = {}  # who set a key first (conflicts name both places)
    named: dict[str, tuple[SourceMap, Location]] = {}  # pipeline name → where it is defined
    overlays: _Overlays = []
    for data, smap in parts:
        envs = data.pop("environments", None)
        if envs is not None and not isinstance(envs, dict):
            raise ConfigError(
                "environments: expected a mapping of environment names to overlays",
                location=smap.locate(("environments",)),
                hint="environments: {dev: {...}, prod: {...}}",
            )
        for name, overlay in (envs or {}).items():
            prefix = ("environments", name)
            uses = [u for u in smap.interpolations if u.path[:2] == prefix]
            overlays.append((str(name), overlay, smap, uses))
        _check_pipelines(data.get("pipelines"), smap, named)
        _merge_map(doc, data, (), smap, origin)
    main = parts[-1][1]
    merged = main if not offsets[-1] else SourceMap(main.file, main.text)
    uses: list[Interpolation] = []
    order = [len(parts) - 1, *range(len(parts) - 1)]  # the project file's spans win on shared parents
    for i in order:
        _, smap = parts[i]
        if smap is not merged:
            _copy_spans(smap, merged, offsets[i])
            if smap is not main:
                merged.texts[smap.file] = smap.text
        for use in smap.interpolations:
            path = use.path
            if path[:1] == ("environments",):
                continue  # moved when its overlay applies
            if offsets[i]:
                use = replace(use, path=_shift(path, offsets[i]))
            uses.append(use)
    merged.interpolations = uses
    return doc, merged, overlays


def _shift(path: tuple, offsets: dict[str, int]) -> tuple:
    """``path`` with the index into a concatenated top-level list moved by the part's offset."""
    if offsets and len(path) > 1 and path[0] in offsets and isinstance(path[1], int):
        return (path[0], path[1] + offsets[path[0]], *path[2:])
    return path


def _copy_spans(src: SourceMap, dst: SourceMap, offset: dict[str, int]) -> None:
    for table, out in ((src.values, dst.values), (src.keys, dst.keys)):
        for path, span in table.items():
            if path[:1] == ("environments",):
                continue
            out.setdefault(_shift(path, offset), span)
    for path, sql_file in src.sql_files.items():  # sql_file steps: their SQL's positions (sql_files.py)
        dst.sql_files.setdefault(_shift(path, offset), sql_file)


def _check_pipelines(pipes: Any, smap: SourceMap, named: dict[str, tuple[SourceMap, Location]]) -> None:
    """A pipeline name defined in two files is an error naming both."""
    if not isinstance(pipes, list):
        return
    for i, pipe in enumerate(pipes):
        name = _pipeline_name(pipe)
        if not isinstance(name, str):
            continue
        where = smap.locate(("pipelines", i, "pipeline" if "pipeline" in pipe else "name"))
        first = named.setdefault(name, (smap, where))
        if first[0] is not smap:
            raise ConfigError(
                f"pipeline '{name}' is defined in two files: first at {first[1]}",
                location=where,
                hint="rename one of them, or remove one of the files from imports:",
            )


def _pipeline_name(pipe: Any) -> Any:
    return pipe.get("pipeline", pipe.get("name")) if isinstance(pipe, dict) else None


def _merge_map(base: dict, new: dict, path: tuple, smap: SourceMap, origin: dict[tuple, SourceMap]) -> None:
    for key, value in new.items():
        here = (*path, key)
        if key not in base:
            base[key] = value
            origin[here] = smap
            continue
        old = base[key]
        if not path and key in _CONCAT and isinstance(old, list) and isinstance(value, list):
            base[key] = [*old, *value]
        elif path != ("connections",) and isinstance(old, dict) and isinstance(value, dict):
            _merge_map(old, value, here, smap, origin)
        else:
            first = _origin(origin, here).locate(here, key=True)
            what = (
                f"connection '{key}' is defined" if path == ("connections",) else f"'{_dotted(here)}' is set"
            )
            raise ConfigError(
                f"{what} in two files: first at {first}",
                location=smap.locate(here, key=True),
                hint="define it in one file; to change it per environment use environments:",
            )


def _origin(origin: dict[tuple, SourceMap], path: tuple) -> SourceMap:
    while path[:-1] and path not in origin:
        path = path[:-1]
    return origin[path]


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _unknown_environment(name: str, from_var: bool, known: list[str], where: Location) -> ConfigError:
    source = f" (from {ENV_VAR})" if from_var else ""
    near = suggest(name, known)
    if not known:
        return ConfigError(
            f"unknown environment '{name}'{source}: this project defines no environments",
            location=where,
            hint=f"add an environments: block, or drop --env / unset {ENV_VAR}",
        )
    return ConfigError(
        f"unknown environment '{name}'{source}" + (f" (did you mean '{near}'?)" if near else ""),
        location=where,
        hint=f"known environments: {', '.join(known)}",
    )


# --------------------------------------------------------------------------- environments


class _Overlay:
    """Applies one environment's overlay to the document, moving its spans (and the ``${VAR}`` uses
    written in it) to the paths it changes, so errors in overlay values point at the overlay."""

    def __init__(self, name: str, merged: SourceMap, omap: SourceMap) -> None:
        self.name, self.merged, self.omap = name, merged, omap
        self.prefix = ("environments", name)
        self.moved: dict[tuple, tuple] = {}  # overlay path → document path

    def apply(self, doc: dict, overlay: Any, uses: list[Interpolation]) -> None:
        if overlay is None:
            return  # `dev:` with nothing under it: the base as is
        if not isinstance(overlay, dict):
            raise self._error("must be a mapping of the keys it changes", self.prefix)
        for key in ("imports", "environments", "vars"):
            if key in overlay:
                raise self._error(
                    f"cannot hold '{key}'",
                    (*self.prefix, key),
                    key=True,
                    hint="vars are resolved before an environment applies: vary them with --var or "
                    "${env:NAME}, or set the values that differ in the overlay itself"
                    if key == "vars"
                    else f"{key}: belongs at the top level of a file",
                )
        self._map(doc, overlay, (), self.prefix)
        for use in uses:  # where each ${VAR} of the overlay lands (checked by config.secret_fields)
            if use.path in self.moved:
                self.merged.interpolations.append(replace(use, path=self.moved[use.path]))

    def _error(self, message: str, path: tuple, *, key: bool = False, hint: str | None = None) -> ConfigError:
        return ConfigError(
            f"environment '{self.name}' {message}", location=self.omap.locate(path, key=key), hint=hint
        )

    def _map(self, base: dict, overlay: dict, at: tuple, src: tuple, skip: tuple = ()) -> None:
        self.moved[src] = at
        for key, value in overlay.items():
            here, there = (*at, key), (*src, key)
            if key in skip:
                self.moved[there] = here
                continue
            old = base.get(key)
            if (
                isinstance(value, list)
                and isinstance(old, list)
                and (here == ("pipelines",) or (len(here) == 3 and here[0] == "pipelines" and key == "nodes"))
            ):
                self._by_name(old, value, here, there)
            elif isinstance(value, dict) and isinstance(old, dict):
                self._map(old, value, here, there)
            else:
                base[key] = value
                self._place(value, here, there)

    def _by_name(self, base: list, overlay: list, at: tuple, src: tuple) -> None:
        """Overlay entries of ``pipelines`` (or a pipeline's ``nodes``) change the base entry of their name."""
        nodes = at[-1] == "nodes"
        what, keys = ("node", ("name",)) if nodes else ("pipeline", ("pipeline", "name"))
        index = {}
        for i, item in enumerate(base):
            name = item.get("name") if nodes and isinstance(item, dict) else _pipeline_name(item)
            if isinstance(name, str):
                index.setdefault(name, i)
        self.moved[src] = at
        for j, item in enumerate(overlay):
            there = (*src, j)
            name = next((item[k] for k in keys if k in item), None) if isinstance(item, dict) else None
            if not isinstance(name, str):
                raise self._error(
                    f"changes a {what} without naming it",
                    there,
                    hint=f"each entry names the {what} it changes ({keys[0]}: ...) and holds what changes",
                )
            if name not in index:
                near = suggest(str(name), list(index))
                raise self._error(
                    f"changes {what} '{name}', which the project does not define"
                    + (f" (did you mean '{near}'?)" if near else ""),
                    (*there, next(k for k in keys if k in item)),
                    hint=f"an environment changes {what}s, it does not add them; known: {', '.join(index)}",
                )
            i = index[name]
            self._map(base[i], item, (*at, i), there, skip=keys)

    def _place(self, value: Any, at: tuple, src: tuple) -> None:
        """Move the spans of an overlay value (and of everything inside it) to where it now is."""
        values, keys, ovalues, okeys = self.merged.values, self.merged.keys, self.omap.values, self.omap.keys
        if src in okeys:
            keys[at] = okeys[src]
        stack = [(value, at, src)]
        while stack:
            item, here, there = stack.pop()
            self.moved[there] = here
            if there in ovalues:
                values[here] = ovalues[there]
            if isinstance(item, dict):
                for k, v in item.items():
                    if (*there, k) in okeys:
                        keys[(*here, k)] = okeys[(*there, k)]
                    stack.append((v, (*here, k), (*there, k)))
            elif isinstance(item, list):
                stack.extend((v, (*here, n), (*there, n)) for n, v in enumerate(item))

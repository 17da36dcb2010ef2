"""The odibi error tree.

Every error a user can cause knows where it comes from: a file position (``file:line:col``) for config
mistakes, a node and step for compile and run failures. The CLI renders them without a traceback and
maps each class to an exit code (0 ok, 1 a node failed, 2 bad input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from odibi.secrets import mask


@dataclass(frozen=True)
class Location:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class OdibiError(Exception):
    """Base of every error odibi raises on purpose."""

    exit_code = 1
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        node: str | None = None,
        step: int | None = None,
        pipeline: str | None = None,
    ) -> None:
        # a secret value never travels inside an error (SECURITY.md): masked when the error is made
        message, hint = mask(message), mask(hint)
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.node = node
        self.step = step
        self.pipeline = pipeline

    def where(self) -> str:
        """A short 'where' prefix: file:line:col, else pipeline/node/step."""
        if self.location is not None:
            return str(self.location)
        parts = []
        if self.pipeline:
            parts.append(f"pipeline '{self.pipeline}'")
        if self.node:
            parts.append(f"node '{self.node}'")
        if self.step is not None:
            parts.append(f"step {self.step + 1}")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "col": self.location.col if self.location else None,
            "pipeline": self.pipeline,
            "node": self.node,
            "step": None if self.step is None else self.step + 1,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class ConfigError(OdibiError):
    """The config is wrong: YAML syntax, schema, references, SQL that does not parse."""

    exit_code = 2
    kind = "config"


class ConfigErrors(ConfigError):
    """Several config errors found in one pass; reported together."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(
            first.message,
            location=first.location,
            hint=first.hint,
            node=first.node,
            step=first.step,
            pipeline=first.pipeline,
        )
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class CompileError(ConfigError):
    """A node cannot be compiled (bad SQL, unknown table, unsupported construct)."""

    kind = "compile"


class UsageError(OdibiError):
    """The command line is wrong (unknown pipeline or node, bad option)."""

    exit_code = 2
    kind = "usage"


class EngineError(OdibiError):
    """An engine is missing or cannot start (e.g. pyspark not installed)."""

    exit_code = 2
    kind = "engine"


class NodeExecutionError(OdibiError):
    """A node failed while running (read, transform, validation or write)."""

    exit_code = 1
    kind = "node"


class TransientError(NodeExecutionError):
    """A fault that may pass if the node runs again (a store throttling, a network hiccup): connections
    raise it for their own "try again" answers, and the runner retries it (``retry:``)."""

    kind = "transient"


class ValidationFailed(NodeExecutionError):
    """A data-quality check of a node failed."""

    kind = "validation"


@dataclass(frozen=True)
class Note:
    """Something a check could not know, so it was skipped (never a silent pass): ``odibi validate``
    prints it as ``note: ...`` and lists it in ``--format json`` with kind ``note``."""

    message: str
    location: Location | None = None
    pipeline: str | None = None
    node: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.location}: note: {self.message}" if self.location else f"note: {self.message}"

    def to_dict(self) -> dict:
        loc = self.location
        return {"kind": "note", "message": self.message, "file": loc.file if loc else None,
                "line": loc.line if loc else None, "col": loc.col if loc else None,
                "pipeline": self.pipeline, "node": self.node, "step": None, "hint": self.hint}  # fmt: skip


@dataclass
class Problems:
    """Collects config errors so that one pass can report them all (and notes of checks skipped)."""

    errors: list[ConfigError] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    warnings: list[ConfigError] = field(default_factory=list)  # true but worth saying (e.g. transpile)

    def add(self, error: ConfigError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)

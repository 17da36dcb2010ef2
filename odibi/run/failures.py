"""A node's failure as a record, and whether running it again could help.

A failure keeps what a reader needs to act on it: its kind (config, sql, type, data_quality, io,
transient, python, engine, ...), the stage it happened in (read, step N, validation, schema, write), the
engine's own message, the place in the YAML where one applies, a hint, and (with ``--debug``) the
traceback. The CLI summary, ``--format json``, the run state and stories render this same record.

Only transient faults are retried: network and I/O hiccups, throttling, a store's "try again" answers,
and what a connection raises as :class:`odibi.errors.TransientError`. Everything else gives the same
answer on a second attempt, so it is not retried, and the record says why.
"""

from __future__ import annotations

import errno
import traceback as tb
from dataclasses import asdict, dataclass
from typing import Any

from odibi.errors import (
    ConfigError,
    EngineError,
    Location,
    NodeExecutionError,
    OdibiError,
    TransientError,
    ValidationFailed,
)
from odibi.secrets import mask, mask_data
from odibi.transforms.user_code import user_frames, where


@dataclass
class Failure:
    """Why a node failed, where, and whether it was worth another attempt."""

    kind: str
    stage: str
    message: str
    error_type: str  # the exception's class, e.g. duckdb.BinderException
    hint: str | None = None
    location: str | None = None  # file:line:col in the YAML, where one applies
    retryable: bool = False
    retry_reason: str = ""  # why it was (or was not) retried
    traceback: str | None = None  # only with --debug
    code: list[str] | None = None  # a function step's error: the user's frames, innermost last

    def render(self) -> str:
        """One line for a summary table: ``stage: message (hint: ...)``."""
        text = f"{self.stage}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return mask_data(asdict(self))


# errno values of faults that come and go (a peer reset, a timeout, a store briefly out of resources)
_TRANSIENT_ERRNO = {
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ECONNREFUSED,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.EAGAIN,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EIO,
    errno.EBUSY,
}
# HTTP statuses a store answers when it is briefly unable (throttled, overloaded, timed out)
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
# class names of client-library faults that are transient (matched without importing those libraries)
_TRANSIENT_TYPES = {
    "EndpointConnectionError",  # botocore
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ServiceRequestError",  # azure-core
    "ServiceResponseError",
    "ServiceUnavailable",  # google-api-core
    "TooManyRequests",
    "InternalServerError",
    "GatewayTimeout",
    "DeadlineExceeded",
    "ClientConnectionError",  # aiohttp
    "ServerDisconnectedError",
    "ClientOSError",
    "ServerTimeoutError",
    "Py4JNetworkError",  # pyspark's JVM bridge
}
# error codes of S3-like stores that mean "try again"
_TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "ServiceUnavailable",
    "InternalError",
    "ServerBusy",
    "OperationTimedOut",
}


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or during (outermost first)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 20:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "status", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        meta = response.get("ResponseMetadata") or {}
        value = meta.get("HTTPStatusCode")
        return value if isinstance(value, int) else None
    return None


def _transient(exc: BaseException) -> str | None:
    """Why ``exc`` is a transient fault, or None when it is not one."""
    name = type(exc).__name__
    if isinstance(exc, TransientError):
        return "the connection reports a transient fault"
    if isinstance(exc, TimeoutError | ConnectionError) and not isinstance(exc, OdibiError):
        return f"a network fault ({name})"
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNO:
        return f"an I/O fault ({errno.errorcode.get(exc.errno, exc.errno)})"
    if name in _TRANSIENT_TYPES:
        return f"a transient fault of the store ({name})"
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        if code in _TRANSIENT_CODES:
            return f"the store asked to try again ({code})"
    status = _status(exc)
    lowered = name.lower()
    if status in _TRANSIENT_STATUS and (
        "http" in lowered or "response" in lowered or isinstance(response, dict)
    ):
        return f"the store answered HTTP {status}"
    return None


def _kind(exc: BaseException, stage: str) -> str:
    """What sort of fault ``exc`` is, for people (and for the decision not to retry it)."""
    if isinstance(exc, ValidationFailed):
        return "data_quality"
    if isinstance(exc, ConfigError):
        return "config"
    if isinstance(exc, EngineError):
        return "engine"
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, NodeExecutionError):
        return "io" if stage == "read" or stage == "write" else "node"
    name, module = type(exc).__name__, type(exc).__module__
    if name in ("ParserException", "BinderException", "CatalogException", "ParseException",
                "AnalysisException", "SyntaxError") or name.endswith("AnalysisException"):  # fmt: skip
        return "sql"
    if name in ("ConversionException", "InvalidInputException", "OutOfRangeException",
                "ArithmeticException", "TypeError", "ValueError", "ArrowInvalid",
                "ArrowTypeError", "NumberFormatException") or "Cast" in name:  # fmt: skip
        return "type"
    if name in ("OutOfMemoryException", "MemoryError"):
        return "resources"
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return "io"
    if isinstance(exc, OSError) or name in ("IOException", "HTTPException"):
        return "io"
    if module.startswith(("duckdb", "pyspark", "py4j", "pyarrow", "deltalake", "psycopg")):
        return "engine"
    return "python"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(
    exc: BaseException, stage: str, *, location: Location | None = None, debug: bool = False
) -> Failure:
    """The failure record of ``exc``, raised at ``stage`` of a node."""
    reason = None
    for link in _chain(exc):
        reason = _transient(link)
        if reason is not None:
            break
    if isinstance(exc, OdibiError):
        message, hint = exc.message, exc.hint
        location = exc.location or location
    else:
        message, hint = _first_line(exc), None
    kind = "transient" if reason and not isinstance(exc, OdibiError) else _kind(exc, stage)
    cause, code = exc.__cause__, None
    if type(exc) is NodeExecutionError and cause is not None and not isinstance(cause, OdibiError):
        kind = "transient" if reason else _kind(cause, stage)  # a function step's own error, wrapped
        if kind == "type" and type(cause).__module__ == "builtins":
            kind = "python"  # ValueError / TypeError raised by the user's code, not a cast of the data
        code = [where(f) for f in user_frames(cause)] or None
    if reason is None:
        why = {
            "config": "a config error: the same config fails the same way",
            "sql": "a SQL error: the same query fails the same way",
            "type": "a type or value error in the data: the same rows fail the same way",
            "data_quality": "a data-quality failure: the same rows fail the same checks",
            "python": "an error raised by Python code, not a transient fault (I/O, network or throttling)",
        }.get(kind, "not a transient fault (I/O, network or throttling)")
    else:
        why = reason
    if hint is None and stage in ("write", "count", "validation") and kind in ("type", "sql"):
        hint = "a node's steps run as it is written or checked (views are lazy): the fault may be in a step"
    return Failure(
        kind=kind,
        stage=stage,
        message=mask(message),
        error_type=f"{type(exc).__module__}.{type(exc).__name__}".removeprefix("builtins."),
        hint=mask(hint) if hint else None,
        location=str(location) if location is not None else None,
        retryable=reason is not None,
        retry_reason=why,
        traceback=mask("".join(tb.format_exception(exc))) if debug else None,
        code=[mask(c) for c in code] if code else None,
    )

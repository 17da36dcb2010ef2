"""What a run tells while it goes: log lines (plain or JSON), and the events a progress display follows.

Every event is one record on the ``odibi.run`` logger, carrying the run id, pipeline, node, event name
and whatever it measured (duration, rows, attempt) in ``record.odibi``. Quiet by default (the CLI logs at
WARNING: retries and failures), a line per node at INFO, everything (reads, writes, the SQL run) at
DEBUG. ``logging: {structured: true}`` prints JSON lines instead. Every line passes through the secret
masking of :mod:`odibi.secrets`, whatever its format.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from odibi.secrets import MaskingFilter, mask, mask_data

LOGGER = logging.getLogger("odibi.run")

Listener = Callable[[str, dict[str, Any]], None]  # (event, fields): progress displays


class RunEvents:
    """The log lines and progress events of one run."""

    def __init__(self, run_id: str, listener: Listener | None = None) -> None:
        self.run_id = run_id
        self.listener = listener

    def emit(self, event: str, level: int, message: str, **fields: Any) -> None:
        fields = {k: v for k, v in fields.items() if v is not None}
        if LOGGER.isEnabledFor(level):
            LOGGER.log(level, message, extra={"odibi": {"run_id": self.run_id, "event": event, **fields}})
        if self.listener is not None:
            self.listener(event, fields)

    def debug(self, event: str, message: str, **fields: Any) -> None:
        self.emit(event, logging.DEBUG, message, **fields)


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the event's fields and ``metadata``."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.metadata = dict(metadata or {})

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "odibi", {}))
        for key, value in self.metadata.items():
            line.setdefault(key, value)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return mask(json.dumps(mask_data(line), default=str))


class PlainLines(logging.Formatter):
    """``LEVEL logger: message [key=value ...]`` for people reading a terminal or a CI log."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "odibi", {})
        extra = " ".join(
            f"{k}={v}" for k, v in fields.items() if k not in ("run_id", "event", "pipeline", "node")
        )
        text = f"{record.levelname} {record.name}: {record.getMessage()}" + (f" [{extra}]" if extra else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return mask(text)


def configure(level: int, *, structured: bool = False, metadata: dict[str, Any] | None = None) -> None:
    """Send odibi's log records to stderr at ``level``, as JSON lines or plain lines (the CLI's setup;
    a library caller configures logging its own way)."""
    root = logging.getLogger("odibi")
    for handler in list(root.handlers):
        if getattr(handler, "_odibi", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._odibi = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonLines(metadata) if structured else PlainLines())
    handler.addFilter(MaskingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False  # one line per record, however the root logger is set up

"""Secret values and their masking: a process-wide registry, ``mask(text)`` and the name rule.

odibi registers every secret value it learns (SecretStr fields of the config, secret-named environment
variables, later Key Vault values) with :func:`register`; every exit (CLI errors and summaries, compiled SQL,
run results, logs, tracebacks) passes its text through :func:`mask`, which replaces each registered value
by ``***``. See SECURITY.md for where masking applies.

Values shorter than :data:`MIN_LENGTH` characters are not registered: masking ``"ab"`` would garble every
message that happens to contain those letters, and a value that short cannot be kept secret anyway. Nor
are the words ``true``, ``false``, ``none``, ``null`` (flags such as ``USE_TOKEN=true`` are not secrets).

This module is pure (standard library only) so that ``import odibi.cli`` stays light.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 4
SECRET_PREFIX = "ODIBI_SECRET_"

_NOT_SECRET_VALUES = frozenset({"true", "false", "none", "null"})
# words that make a variable secret wherever they appear in its name (DB_PASSWORD, CLIENTSECRET)
_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "CREDENTIAL")
# KEY and TOKEN only as a whole `_`-separated part (API_KEY, ACCOUNT_KEY, GITHUB_TOKEN), plural too, or
# glued to a few prefixes (APIKEY, AUTHTOKEN); never inside a word (KEYBOARD, MONKEY, TOKENIZERS_...)
_KEY_OR_TOKEN = re.compile(r"(?:API|ACCESS|PRIVATE|AUTH|BEARER|REFRESH|SAS)?(?:KEY|TOKEN)S?")
# a last part that says the variable names or points at a secret rather than holding it
# (SECRET_NAME, KEY_VAULT_NAME, TOKEN_FILE, TOKEN_URL)
_DESCRIPTORS = frozenset({"NAME", "NAMES", "FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT"})

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None


def is_secret_name(name: str) -> bool:
    """Does the environment variable ``name`` hold a secret, judging by its name?

    True for names that start with ``ODIBI_SECRET_``; that contain PASSWORD, PASSWD, SECRET or CREDENTIAL;
    or that have KEY or TOKEN (or KEYS / TOKENS, APIKEY, AUTHTOKEN, ...) as a whole ``_``-separated part.
    False when the last part is NAME, FILE, PATH, DIR, URL, URI or ENDPOINT (``SECRET_NAME``,
    ``TOKEN_FILE``: they name or point at a secret), and for KEY before VAULT (``KEY_VAULT``).
    """
    upper = name.upper()
    if upper.startswith(SECRET_PREFIX):
        return True
    parts = [p for p in upper.split("_") if p]
    if not parts or parts[-1] in _DESCRIPTORS:
        return False
    for i, part in enumerate(parts):
        if any(word in part for word in _SECRET_WORDS):
            return True
        if _KEY_OR_TOKEN.fullmatch(part) and not (part == "KEY" and parts[i + 1 : i + 2] == ["VAULT"]):
            return True
    return False


def maskable(value: str) -> bool:
    """Can ``value`` be masked (long enough, not a plain flag word)?"""
    return len(value) >= MIN_LENGTH and value.strip().lower() not in _NOT_SECRET_VALUES


def _forms(value: str) -> set[str]:
    """The value and the ways it is commonly re-encoded in messages (URL-quoted, JSON/repr-escaped)."""
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]}
    forms.add(repr(value)[1:-1])
    return {f for f in forms if maskable(f)}


def register(value: Any) -> None:
    """Register a secret value (a ``str`` or a pydantic ``SecretStr``); too short values are ignored."""
    global _pattern
    if value is None:
        return
    getter = getattr(value, "get_secret_value", None)
    text = getter() if callable(getter) else value
    if not isinstance(text, str) or not maskable(text):
        return
    new = _forms(text) - _values
    if not new:
        return
    with _lock:
        _values.update(new)
        _pattern = None


def register_env(env: Mapping[str, str]) -> None:
    """Register the value of every secret-named variable of ``env`` (see :func:`is_secret_name`)."""
    for name, value in env.items():
        if value and is_secret_name(name):
            register(value)


def registered() -> int:
    """How many masked forms are registered (for tests and diagnostics; never the values)."""
    return len(_values)


def clear() -> None:
    """Forget every registered value (tests only)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    pattern = _pattern
    if pattern is None and _values:
        with _lock:
            # longest first: a secret that contains another is masked whole
            ordered = sorted(_values, key=lambda v: (-len(v), v))
            pattern = _pattern = re.compile("|".join(re.escape(v) for v in ordered))
    return pattern


def mask(text: Any) -> Any:
    """``text`` with every registered secret value replaced by ``***``; non-strings are returned as given."""
    if not isinstance(text, str) or not _values:
        return text
    pattern = _compiled()
    return pattern.sub(MASK, text) if pattern is not None else text


def mask_data(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, tuples of plain data) with every string masked, keys included."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        return {mask_data(k): mask_data(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(mask_data(v) for v in value))
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(mask_data(v) for v in value)
    return value


def mask_lines(lines: Iterable[str]) -> str:
    """Join and mask (a formatted traceback is a list of lines; a value may span two of them)."""
    return mask("".join(lines))


# --------------------------------------------------------------------------- logging and hooks


class MaskingFilter(logging.Filter):
    """A logging filter that masks a record's message (``msg % args``) and its exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


def _mask_record(record: logging.LogRecord) -> None:
    if not _values:
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to the handler's error path
        return
    masked = mask(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        import traceback

        record.exc_text = mask_lines(traceback.format_exception(*record.exc_info)).rstrip("\n")
    elif record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


_installed = False


def install_output_masking() -> None:
    """Mask Python's own output channels in this process (the CLI calls this once).

    * every log record, whatever its logger: its message is masked when the record is made, and every
      handler's formatted text is masked again (handlers with their own formatters, e.g. PySpark's JSON
      one, format the exception themselves);
    * warnings (``warnings.formatwarning``);
    * uncaught exceptions (``sys.excepthook``, ``threading.excepthook``).
    """
    global _installed
    if _installed:
        return
    _installed = True
    import sys
    import warnings

    factory = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(masked_record)

    handler_format = logging.Handler.format

    def masked_format(self: logging.Handler, record: logging.LogRecord) -> str:
        return mask(handler_format(self, record))

    logging.Handler.format = masked_format  # type: ignore[method-assign]

    formatwarning = warnings.formatwarning

    def masked_warning(*args: Any, **kwargs: Any) -> str:
        return mask(formatwarning(*args, **kwargs))

    warnings.formatwarning = masked_warning

    def excepthook(exc_type, exc, tb) -> None:
        import traceback

        sys.stderr.write(mask_lines(traceback.format_exception(exc_type, exc, tb)))
        sys.stderr.flush()

    sys.excepthook = excepthook

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        import traceback

        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        text = mask_lines(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        sys.stderr.write(f"Exception in thread {name}:\n{text}")
        sys.stderr.flush()

    threading.excepthook = thread_hook


__all__ = [
    "MASK",
    "MIN_LENGTH",
    "SECRET_PREFIX",
    "MaskingFilter",
    "install_output_masking",
    "is_secret_name",
    "mask",
    "mask_data",
    "register",
    "register_env",
]

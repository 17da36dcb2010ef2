"""Where a transform function failed in the user's own code.

``KeyError: 'revenu'`` is actionable only with the file and line that raised it. The traceback of a
function step's error starts in odibi (the runner calling the step) and often ends in a library (pandas
indexing); neither says where the user's mistake is. This keeps the user's frames: those after odibi's
call into the function that are not in odibi, the standard library or an installed package.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from pathlib import Path

import odibi

SHOWN_FRAMES = 3  # the innermost frames of the user's code that a message names

_ODIBI_DIR = str(Path(odibi.__file__).resolve().parent) + os.sep


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(str(Path(d).resolve()) + os.sep for d in dirs)


def _is_odibi(filename: str) -> bool:
    return str(Path(filename).resolve()).startswith(_ODIBI_DIR)


def user_frames(exc: BaseException, limit: int = SHOWN_FRAMES) -> list[traceback.FrameSummary]:
    """The innermost ``limit`` frames of the user's code in ``exc``'s traceback (outermost first)."""
    frames = traceback.extract_tb(exc.__traceback__)
    start = 0
    while start < len(frames) and _is_odibi(frames[start].filename):
        start += 1  # odibi's frames up to its call into the user's function
    called = frames[start:]
    if not called:
        return []
    libraries = _library_dirs()
    own = [
        f
        for f in called
        if not f.filename.startswith("<")
        and not _is_odibi(f.filename)
        and not str(Path(f.filename).resolve()).startswith(libraries)
    ]
    # a function installed as a package (an entry point) lives among the libraries: its own frame, then
    return (own or called[:1])[-limit:]


def _shown_path(filename: str) -> str:
    """The file relative to the working directory when it is below it (as YAML locations are)."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def where(frame: traceback.FrameSummary) -> str:
    """``transforms.py:12 in add_margin: `df['revenu'] * 0.2```."""
    text = f"{_shown_path(frame.filename)}:{frame.lineno} in {frame.name}"
    line = (frame.line or "").strip()
    return f"{text}: `{line}`" if line else text


def function_error(name: str, exc: BaseException) -> tuple[str, str]:
    """The message and hint of a function step whose code raised ``exc``: the error, where it was
    raised in the user's code, and the user's frames that led there."""
    message = f"function '{name}' raised {type(exc).__name__}: {exc}"
    frames = user_frames(exc)
    if frames:
        message += f" at {where(frames[-1])}"
    hint = "--debug shows the full traceback"
    if len(frames) > 1:
        called = " <- ".join(where(f) for f in reversed(frames[:-1]))
        hint = f"called from {called}; {hint}"
    return message, hint

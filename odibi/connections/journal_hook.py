"""The runner's hook into a commit: an append is journalled just before it is published.

Set by the runner around an append (:data:`before_commit`); every connection's commit calls
:func:`run_before_commit` with the staged write once it knows how the committed output will be
recognised, and before it publishes anything.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

before_commit: contextvars.ContextVar[Callable[[Any], None] | None] = contextvars.ContextVar(
    "odibi_before_commit", default=None
)


def run_before_commit(staged: Any) -> None:
    hook = before_commit.get()
    if hook is not None and staged.mode == "append":
        hook(staged)

"""Advisory file locks that die with their process, and folders that are swept once their owner is gone.

A run that is killed (SIGKILL, power loss) cannot clean up after itself. Everything odibi leaves behind
while it works (staging folders beside outputs, engine scratch folders in the temp directory) therefore
comes with a lock file that its process holds with ``flock``. The kernel drops the lock when the process
dies, so the next run can tell a live owner from a dead one and remove only what the dead left.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
import uuid
from pathlib import Path

LOCK_SUFFIX = ".lock"


class LockBusy(Exception):
    """Another process holds the lock."""


class HeldLock:
    """An exclusive ``flock`` on a file, held until :meth:`release` (or the process dies)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self, *, unlink: bool = False) -> None:
        if self._fd is None:
            return
        if unlink:
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(path: Path, *, timeout: float | None = None, poll: float = 0.05, create: bool = True) -> HeldLock:
    """Lock ``path`` (created when missing, unless ``create=False``: then FileNotFoundError).
    ``timeout=0`` fails at once, ``None`` waits for ever; :class:`LockBusy` when the wait runs out.

    Judging another process's lock file (is its owner dead?) uses ``create=False``: the owner may have
    just ended and removed it, and recreating it would make a lock of nothing.

    A sweeper may unlink a lock file between our ``open`` and our ``flock``; the inode check retries
    with the file that is at ``path`` now, so two processes never both think they hold it.
    """
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        try:
            _flock(fd, deadline, poll)
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return HeldLock(path, fd)
        os.close(fd)


def create_locked(path: Path) -> HeldLock:
    """A new lock file at ``path``, locked before its name appears.

    A lock file made with :func:`acquire` exists, unlocked, between its ``open`` and its ``flock``; a
    sweeper or an heir scanning the folder in that instant would take it for a dead owner's. This one is
    made and locked under a private name, then renamed into place (``path`` must be unique: a run id, a
    random folder name).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.new"  # matches no sweep or glob
    fd = os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(scratch, path)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        raise
    return HeldLock(path, fd)


def _flock(fd: int, deadline: float | None, poll: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if deadline is not None and time.monotonic() >= deadline:
            raise LockBusy()
        time.sleep(poll)


def owned_dir(parent: Path, prefix: str) -> tuple[Path, HeldLock]:
    """A new folder ``parent/<prefix><id>`` with its lock ``<folder>.lock`` held by this process."""
    parent.mkdir(parents=True, exist_ok=True)
    name = f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    lock = create_locked(parent / (name + LOCK_SUFFIX))
    folder = parent / name
    folder.mkdir()
    return folder, lock


def release_dir(folder: Path, lock: HeldLock) -> None:
    """Remove an owned folder, then its lock file."""
    shutil.rmtree(folder, ignore_errors=True)
    lock.release(unlink=True)


def sweep(parent: Path, prefix: str = "", *, orphan_age_s: float = 3600.0) -> list[str]:
    """Remove the folders under ``parent`` (named ``prefix*``) whose owner is dead; returns their names.

    A folder's owner is dead when its lock file can be locked. A folder with no lock file at all (left by
    odibi 0.4.0, or a lock removed by hand) is removed once it is older than ``orphan_age_s``.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    names = {e.name for e in entries}
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix):
            continue
        if name.endswith(LOCK_SUFFIX):
            folder = name[: -len(LOCK_SUFFIX)]
            try:
                held = acquire(parent / name, timeout=0, create=False)
            except (LockBusy, OSError):
                continue  # alive (or not ours to judge)
            shutil.rmtree(parent / folder, ignore_errors=True)
            held.release(unlink=True)
            if folder in names:
                removed.append(folder)
        elif name + LOCK_SUFFIX not in names:
            try:
                age = time.time() - entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if age > orphan_age_s:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                removed.append(name)
    return removed


def private_tempdir(prefix: str) -> tuple[str, HeldLock]:
    """An engine's scratch folder in the system temp directory, swept after its process dies.

    Folders of earlier processes with the same prefix whose owner is gone are removed first.
    """
    import tempfile

    parent = Path(tempfile.gettempdir())
    sweep(parent, prefix)
    folder, lock = owned_dir(parent, prefix)
    return str(folder), lock

"""Lock files are never seen unlocked: an heir or a sweeper scanning the folder cannot take a live run's
lock for a dead one's (CI once saw two threads' runs collide this way: LockBusy on a run's own journal)."""

from __future__ import annotations

import threading
from pathlib import Path

from odibi.run import locks
from odibi.run.journal import AppendJournal, new_run_id


def test_journals_opened_side_by_side_never_take_each_others_lock(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    inherited: list[str] = []
    start = threading.Barrier(4)

    def runs() -> None:
        start.wait()
        for _ in range(150):
            try:
                journal = AppendJournal(tmp_path, new_run_id())
            except BaseException as exc:
                errors.append(exc)
                continue
            inherited.extend(str(path) for path, _ in journal._inherited)
            journal.close()

    threads = [threading.Thread(target=runs) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert inherited == []  # every journal seen belonged to a live run
    assert not list((tmp_path / ".odibi" / "journal").glob("*")), "a run that ended left its journal"


def test_a_sweep_never_removes_a_folder_being_made(tmp_path: Path) -> None:
    made: list[Path] = []
    removed: list[str] = []
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.is_set():
            removed.extend(locks.sweep(tmp_path))

    thread = threading.Thread(target=sweeper)
    thread.start()
    try:
        held = []
        for _ in range(300):
            folder, lock = locks.owned_dir(tmp_path, "w-")
            made.append(folder)
            held.append(lock)
    finally:
        stop.set()
        thread.join()
    assert removed == []
    assert all(folder.is_dir() for folder in made)
    for lock in held:
        lock.release()

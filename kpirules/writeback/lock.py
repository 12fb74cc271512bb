"""A lock file beside a workbook, so that one run at a time works on a file.

Without it, two runs that start together both read History before either writes, and the
second write replaces the first: rows are lost, or the same rows written twice, and both
send the same alerts. With it, ``run`` takes the lock without waiting (``wait=0``): a second
run changes nothing, sends nothing and exits 7 ("another run holds this workbook since
07:00:12", the holder writes its start time into the lock file); ``init`` waits its turn. The lock is an OS advisory lock
(``fcntl.flock``; ``msvcrt.locking`` on Windows) held on ``.<file>.lock`` beside it: the OS drops it
when the process dies, so a crashed run never leaves the file locked.

The lock file is removed when the run ends (nobody wants ``.kpis.xlsx.lock`` lying beside
their workbook). Removing it is safe because a run that took the lock checks that the file
it locked is still the one at that path; if a finishing run removed it in between, it
locks the new file instead. (On Windows an open file cannot be removed: it stays there.)
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator

from kpirules.errors import SourceError
from kpirules.i18n import _

DEFAULT_TIMEOUT = 600.0  # a scheduled run may wait for a slow one rather than fail


def lock_path(path: str) -> str:
    """``/srv/kpis/.kpis.xlsx.lock`` for ``/srv/kpis/kpis.xlsx``: hidden, beside the file
    (the file a symbolic link leads to: two runs by two paths take the one lock)."""
    folder, name = os.path.split(os.path.realpath(path))
    return os.path.join(folder, f".{name}.lock")


@contextlib.contextmanager
def file_lock(path: str, timeout: float = DEFAULT_TIMEOUT, poll: float = 0.05, *,
              since: str | None = None) -> Iterator[str]:
    """Hold the lock for ``path`` (waiting up to ``timeout`` seconds) inside the block.
    With ``timeout=0`` a held lock raises ``LeaseHeld`` at once, naming since when it is
    held; ``since`` is what this holder writes there ("07:00:12")."""
    target = lock_path(path)
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise SourceError(_("cannot create the lock file {path}: {reason}").format(path=target, reason=exc.strerror),
                          hint=_("kpirules needs to write in the workbook's folder")) from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            while not _try_lock(fd):
                if timeout <= 0:
                    from kpirules.writeback.lease import LeaseHeld

                    raise LeaseHeld(_holder_since(target), "workbook")
                if time.monotonic() >= deadline:
                    raise SourceError(
                        _("another kpirules run has held {file} for over {seconds}s").format(
                            file=os.path.basename(target), seconds=f"{timeout:.0f}"),
                        hint=_("wait for it to finish; if none is running, check which process holds the file"))
                time.sleep(poll)
            if _still_there(fd, target):
                break
            # The run before removed the file while this one waited on it: lock the new one.
            _unlock(fd)
            os.close(fd)
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o666)
        if since is not None:
            _write_since(fd, since)
        try:
            yield target
        finally:
            if os.name != "nt":
                with contextlib.suppress(OSError):
                    os.unlink(target)  # still locked: whoever waits re-opens (above)
            _unlock(fd)
    finally:
        os.close(fd)


def _still_there(fd: int, target: str) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(target)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _write_since(fd: int, since: str) -> None:
    # After byte 0, which Windows locks: readers of a held lock read the rest.
    try:
        os.ftruncate(fd, 1)
        os.lseek(fd, 1, os.SEEK_SET)
        os.write(fd, f"since {since}\n".encode())
    except OSError:
        pass  # the time is a courtesy to the waiting run's message


def _holder_since(target: str, wait: float = 0.5) -> str | None:
    # A holder writes its time just after it takes the lock: a run that comes in between
    # finds the file empty, so it looks again for a moment rather than say "since" nothing.
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(target, "rb") as fh:
                fh.seek(1)
                text = fh.read(200).decode("utf-8", "replace")
        except OSError:
            return None
        since = text.strip().removeprefix("since ").strip()
        if since or time.monotonic() >= deadline:
            return since or None
        time.sleep(0.01)


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)

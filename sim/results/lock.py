"""One writer per output folder: a lock file next to the folder while a run writes it.

``vbcsim run``/``compare`` (and the Python API with ``out=``) and ``vbcsim sensitivity
--out`` hold :class:`OutputLock` on their output folder from before they create anything
until the last file is in place. The lock is the file ``.<name>.lock`` beside the folder
(:func:`sim.results.layout.lock_file`), holding the process id, host, start time and
command of the writer, and an exclusive ``flock`` on it while the writer lives:

* a second writer (another run to the same folder, an ``--overwrite`` of a folder being
  written, a resume of the same run) is refused with :class:`OutputLocked`, naming the
  folder and the process that holds it;
* the lock is released (the file removed) on every exit path: success, error, Ctrl-C,
  SIGTERM (handled as Ctrl-C by the command);
* a lock left behind by a process that died without releasing it (``kill -9``, a crash) is
  detected (its process id is no longer running on this host) and taken over, with a
  :class:`StaleLockNote`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sim.results.layout import ResultsDirError, ResultsWarning, lock_file

try:
    import fcntl
except ImportError:  # not on POSIX: the process id in the file is all there is
    fcntl = None  # type: ignore[assignment]


class OutputLocked(ResultsDirError):
    """The output folder is being written by another process (the message names it)."""


class StaleLockNote(ResultsWarning):
    """The lock of an output folder was left by a process that no longer runs; taken over."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) the lock of an output folder."""

    pid: int | None
    host: str | None
    started_at: str | None
    command: str | None

    def describe(self) -> str:
        where = "" if self.host in (None, socket.gethostname()) else f" on host {self.host}"
        text = f"process {self.pid}{where}"
        if self.started_at:
            text += f", since {self.started_at}"
        if self.command:
            text += f": {self.command}"
        return text

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        pid = data.get("pid")
        return cls(pid if isinstance(pid, int) else None, data.get("host"),
                   data.get("started_at"), data.get("command"))


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _locked_message(target: Path, holder: LockHolder | None, lock: Path) -> str:
    who = holder.describe() if holder is not None else "another process"
    return (f"{target} is being written by another vbcsim run ({who}); wait for it to "
            f"finish or choose another output folder (if no such run is alive, delete "
            f"{lock})")


def check_unlocked(target: str | os.PathLike[str]) -> None:
    """Raise :class:`OutputLocked` if a live process holds the lock of ``target`` (checked
    before anything runs; the lock itself is taken by :class:`OutputLock`)."""
    t = Path(target)
    lock = lock_file(t.absolute())
    try:
        text = lock.read_text(encoding="utf-8")
    except OSError:
        return
    holder = LockHolder.parse(text)
    if holder is not None and holder.pid == os.getpid() and holder.host == socket.gethostname():
        return  # this process writes it (e.g. the final files of its own run)
    if fcntl is not None:
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLocked(_locked_message(t, holder, lock)) from None
        finally:
            os.close(fd)
    if _refuses(holder):
        raise OutputLocked(_locked_message(t, holder, lock))


def _refuses(holder: LockHolder | None) -> bool:
    """Whether a lock file whose flock is free must still be respected: its process runs on
    this host (a file system without flock), or it was made on another host (its process
    cannot be checked from here)."""
    if holder is None or holder.pid is None:
        return False
    if holder.host not in (None, socket.gethostname()):
        return True
    return holder.pid != os.getpid() and process_alive(holder.pid)


#: lock files held by this process (a second ``flock`` of the same file would fail here)
_HELD: set[Path] = set()


def held_here(target: str | os.PathLike[str]) -> bool:
    """Whether this process holds the lock of output folder ``target``."""
    return lock_file(Path(target).absolute()) in _HELD


class OutputLock:
    """The lock of output folder ``target`` (a context manager; see the module doc)."""

    def __init__(self, target: str | os.PathLike[str], command: str | None = None) -> None:
        self.target = Path(target)
        self.path = lock_file(self.target.absolute())
        self.command = command
        self._fd: int | None = None
        self._created: list[Path] = []

    def acquire(self) -> OutputLock:
        """Take the lock or raise :class:`OutputLocked`. Missing parents of the folder are
        created for the lock file (and removed on release if they are still empty)."""
        self._created = [p for p in reversed(self.path.parents) if not p.exists()]
        for folder in self._created:
            with contextlib.suppress(FileExistsError):
                folder.mkdir()
        try:
            return self._acquire()
        except BaseException:
            self._remove_created()
            raise

    def _acquire(self) -> OutputLock:
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        holder = LockHolder.parse(_read(fd))
                        raise OutputLocked(_locked_message(self.target, holder, self.path)) \
                            from None
                    if not _same_file(fd, self.path):  # released and removed meanwhile
                        os.close(fd)
                        continue
                holder = LockHolder.parse(_read(fd))
                if _refuses(holder):
                    raise OutputLocked(_locked_message(self.target, holder, self.path))
                if holder is not None and holder.pid is not None:
                    warnings.warn(
                        f"{self.target}: took over the lock left by {holder.describe()}, "
                        "which no longer runs (it ended without releasing the lock)",
                        StaleLockNote, stacklevel=2)
                _write(fd, {"pid": os.getpid(), "host": socket.gethostname(),
                            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                            "command": self.command or " ".join(sys.argv)})
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            _HELD.add(self.path)
            return self
        raise OutputLocked(f"could not take the lock {self.path} of {self.target}")

    def release(self) -> None:
        """Remove the lock file and let go of the lock (nothing if it is not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _HELD.discard(self.path)
        try:
            if _same_file(fd, self.path):
                with contextlib.suppress(OSError):
                    self.path.unlink()
        finally:
            os.close(fd)
            self._remove_created()

    def _remove_created(self) -> None:
        """Remove the parents :meth:`acquire` created, if nothing was put in them."""
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._created = []

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _write(fd: int, data: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(data) + "\n").encode("utf-8"))
    os.fsync(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


__all__ = ["LockHolder", "OutputLock", "OutputLocked", "StaleLockNote", "check_unlocked",
           "held_here", "process_alive"]

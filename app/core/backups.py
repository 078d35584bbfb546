"""Backup runs: the folder each change job writes before anything changes.

Each run has a folder ``<backup root>/<run id>/`` holding:

* ``run.lock``: locked by the process making the run, for its whole life (an
  OS lock: see oslock.py).  A run whose journal never says it finished is
  *interrupted* only when nobody holds this lock.
* ``manifest.json``: written and fsync'd *before* any file is touched.  For
  every file the run may change it records the path, what the file held before
  (sha256, size, mtime, mode, or that it did not exist) and what it will hold
  after (sha256 and size, or that it will be gone).
* ``files/``: a verified copy of every file the run changes or removes, made
  before that file is touched.
* ``journal.jsonl``: what happened, one line per step.

Undo and recovery (undo.py) trust the disk and a *checked* manifest
(runcheck.py), not the journal's lines: they look at each file, and a file
that holds its "after" bytes is put back to its "before" bytes, one that holds
its "before" bytes is left alone, and one that holds anything else was changed
by someone else since the run and is never overwritten.  The journal says
only which runs finished.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import socket
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.core import fsops, jsjson, oslock, runcheck, seal
from app.core.choices import default_backup_root
from app.core.longpaths import extended
from app.core.runcheck import Damaged, Manifest, Snapshot

NAME_LIMIT = 120  # bytes of a file's own name kept in a backup's name: the rest would pass NAME_MAX


def file_name(number: int, path: str, prefix: str = "") -> str:
    """The name a file of the run keeps in its files/ folder: numbered, and
    never longer than a file system allows (a sidecar file may have a 250-byte
    name; the manifest keeps the original path)."""
    name = os.path.basename(path)
    raw = os.fsencode(name)
    if len(raw) > NAME_LIMIT:
        stem, dot, suffix = name.rpartition(".")
        suffix = f".{suffix}" if dot and len(os.fsencode(suffix)) <= 16 else ""
        digest = hashlib.sha256(raw).hexdigest()[:16]
        name = os.fsdecode(raw[:60]).rstrip("\udcff") + f"-{digest}{suffix}"
    return f"{prefix}{number:05d}-{name}"

__all__ = ["Snapshot", "FileChange", "Run", "RunInfo", "Damaged"]

MANIFEST, SEAL, JOURNAL, FILES = "manifest.json", "manifest.seal", "journal.jsonl", "files"
# The lock files: the backup folder's (a name no other program uses: the
# folder may be an ordinary one of the user's), and each run's own.
LOCK, RUN_LOCK = ".session-rescue.lock", "run.lock"
# Where a message sends the user to see the runs; each front end says it its
# own way (the command line names its command, with the backup folder).
SEE_LIST = "(see the list of backups)"
FORMAT = 2
DEMO_BACKUPS = "session-rescue-backups"  # inside a demo data folder: its backups go with it

# Journal events (the ``event`` of each line).
RUN_STARTED, BACKED_UP, ACTION_DONE, RUN_COMPLETE = "run-started", "backed-up", "action-done", "run-complete"
UNDO_STARTED, UNDO_DONE, RECOVERED = "undo-started", "undo-done", "recovered"
_MILESTONES = (RUN_STARTED, RUN_COMPLETE, UNDO_STARTED, UNDO_DONE)  # what a run's status follows
_MILESTONE_BYTES = tuple(name.encode() for name in _MILESTONES)

# What ``status`` says of a run.
COMPLETE, INTERRUPTED, IN_PROGRESS, UNDONE, PARTLY_UNDONE, UNDO_INTERRUPTED, DAMAGED = (
    "complete", "interrupted", "in progress", "undone", "partly undone", "undo interrupted", "damaged")

JOURNAL_LINE_LIMIT = 1 << 20  # a longer line is not one we wrote: skipped
JOURNAL_SCAN = 256 << 20  # how far back from its end a journal is read for its status
JOURNAL_READ = 1 << 30  # how much of a journal is read at most, from its start
_JOURNAL_CHUNK = 64 << 10


class BackupError(Exception):
    """A backup folder that cannot be used; the message is one sentence."""


class Busy(BackupError):
    """Another Session Rescue is repairing or undoing right now."""


class NothingToUndo(BackupError):
    """Every run in the backup folder is undone already (or there is none)."""


def default_root() -> Path:
    return default_backup_root()


def root_for(data_dirs: Sequence[Any]) -> Path:
    """Where backups of changes to ``data_dirs`` go by default: the user's
    backup folder, except for the demo data, whose backups stay inside it (so
    they go when it goes, and never mix with the user's real ones)."""
    demos = [d for d in data_dirs if getattr(d, "install_type", None) == "demo"]
    if demos and len(demos) == len(data_dirs):
        return Path(demos[0].path) / DEMO_BACKUPS
    return default_root()


def now_iso() -> str:
    """Now, in UTC, to the millisecond: ``2026-11-26T08:10:18.412Z``.  The
    part up to the second is formatted once a second: a repair stamps every
    journal line, thousands a second."""
    global _stamp
    second, milli = divmod(time.time_ns() // 1_000_000, 1000)
    stamp = _stamp  # one read: another thread may replace it meanwhile, never half of it
    if stamp[0] != second:
        stamp = _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{stamp[1]}.{milli:03d}Z"


_stamp: tuple[int, str] = (-1, "")  # the second of the last stamp, and its text


def check_root(root: Path, data_dirs: Sequence[Any]) -> None:
    """Backups never go inside Claude's data folder: nothing but session
    records is ever written there, and the app would see (or sync) them.  (The
    demo data's own backup folder is the one exception: no app reads it.)"""
    real = os.path.realpath(root)
    for data_dir in data_dirs:
        path = getattr(data_dir, "path", data_dir)
        data_real = os.path.realpath(path)
        if getattr(data_dir, "install_type", None) == "demo" and real == os.path.realpath(Path(path) / DEMO_BACKUPS):
            continue
        with contextlib.suppress(ValueError):
            if os.path.commonpath([real, data_real]) == data_real:
                raise BackupError(f"the backup folder {root} is inside Claude's data folder {path}; "
                                  "choose one outside it")


def ensure_writable(root: Path) -> None:
    """Fail early, in one sentence, if backups cannot be written to ``root``."""
    check_folder(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{secrets.token_hex(4)}"
        fsops.write_durable(str(probe), b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            reason = "the disk is full"
        raise BackupError(f"cannot write backups to {root}: {reason}") from None


def check_folder(root: Path) -> None:
    """A backup folder that exists must be a folder: one sentence if it is not."""
    try:
        st = os.stat(root)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BackupError(f"the backup folder {root} cannot be opened ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BackupError(f"the backup folder {root} is a file, not a folder; choose a folder")


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """One repair or undo at a time per backup folder, by an OS lock on
    ``<root>/.session-rescue.lock``: held until this process lets go or dies,
    whichever PID namespace or computer the other one runs in."""
    check_folder(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = oslock.acquire(root / LOCK, role="repair")
    except oslock.Held as exc:
        who = exc.owner.get("pid", "?")
        host = exc.owner.get("host")
        where = f" on {host}" if isinstance(host, str) and host != socket.gethostname() else ""
        raise Busy(f"another Session Rescue (process {who}{where}) is repairing or undoing right now; wait for it "
                   "to finish") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EINVAL, errno.EMLINK):
            raise BackupError(f"the lock file {root / LOCK} is not a plain file of its own; remove it") from None
        reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise BackupError(f"cannot use the backup folder {root}: {reason}") from None
    try:
        yield
    finally:
        lock.release()


# ------------------------------------------------------------------ snapshots


@dataclass(frozen=True)
class FileChange:
    """One file a plan changes: what it holds before, and after (None: absent)."""

    path: str
    before: Snapshot | None
    after: Snapshot | None


def current_sha(path: str) -> str | None:
    """The file's sha256 now; None if it does not exist.  Anything but a
    regular file (a link put there since) reads as a stranger: ``"?"``."""
    try:
        st = os.lstat(extended(path))
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return "?"
    try:
        return fsops.sha256_file(path)[0]
    except OSError:
        return "?"


# ------------------------------------------------------------------- the run


@dataclass
class Run:
    """One run's backup folder."""

    path: Path
    _journal_fd: int | None = field(default=None, repr=False)
    _lock: oslock.Lock | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def files_dir(self) -> Path:
        return self.path / FILES

    @classmethod
    def create(cls, root: Path, actions: list[dict[str, Any]], kind: str = "repair",
               projects_root: str | None = None) -> Run:
        """Make the run folder, lock it, and write its manifest, durably,
        before anything else happens.  ``actions`` is the manifest's list."""
        root.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            # Names sort in the order the runs were made, to the millisecond:
            # "the last run" is the last name (a repair, a rebuild and an
            # adopt can all start within one second).  In UTC: local time
            # goes back an hour each autumn, and with the time zone.
            now = datetime.now(UTC)
            run_id = f"{now:%Y%m%d-%H%M%S}.{now.microsecond // 1000:03d}-{secrets.token_hex(2)}"
            try:
                (root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise BackupError(f"could not make a new run folder in {root}")
        run = cls(root / run_id)
        run.hold()
        try:
            run.files_dir.mkdir()
            manifest = {"format": FORMAT, "run_id": run_id, "kind": str(kind), "created": now_iso(),
                        "tool": f"{runcheck.TOOL_MARK}{__version__}", "owner": {"pid": os.getpid()},
                        "actions": actions}
            if projects_root is not None:
                manifest["projects_root"] = projects_root
            # Written under another name and renamed: a run folder whose
            # manifest is there is a run whose manifest is whole.  Compact: an
            # indented dump goes through json's pure-Python encoder.
            part = run.path / (MANIFEST + ".part")
            raw = jsjson.stringify(manifest)
            fsops.write_durable(str(run.path / SEAL), seal.seal(raw).encode("ascii"))
            fsops.write_durable(str(part), raw)
            os.replace(part, run.path / MANIFEST)
            fsops.fsync_dir(str(run.path))
            fsops.fsync_dir(str(root))
            run.log(RUN_STARTED, sync=True)
        except BaseException:
            run.close()
            raise
        return run

    def hold(self) -> None:
        """Take this run's lock (for its making, or its undo)."""
        if self._lock is None:
            self._lock = oslock.acquire(self.path / RUN_LOCK, role="run")

    def manifest(self) -> Manifest:
        """The checked manifest; :class:`runcheck.Damaged` if it cannot be trusted."""
        raw = _read_own(self.path / MANIFEST, runcheck.MANIFEST_LIMIT, "its manifest")
        try:
            sealed: str | None = _read_own(self.path / SEAL, 256, "its seal").decode("ascii", "replace")
        except Damaged:
            sealed = None
        try:
            files = os.lstat(self.files_dir)
        except FileNotFoundError:
            files = None
        except OSError as exc:
            raise Damaged(f"its files/ folder cannot be read ({exc.strerror or exc})") from None
        if files is not None and not stat.S_ISDIR(files.st_mode):
            raise Damaged("its files/ is not a plain folder (a link, or a file)")
        return runcheck.parse(raw, self.run_id, sealed)

    def log(self, event: str, sync: bool = False, **fields: Any) -> None:
        """Append a journal line.  Lines that a run's status depends on
        (start, end, undo) are fsync'd; step lines are an audit trail and are
        flushed by the OS, because recovery reads the files themselves."""
        self.append(journal_line(event, **fields), sync)

    def append(self, lines: bytes, sync: bool = False) -> None:
        """Append whole lines (:func:`journal_line`) in one write; fsync'd
        with ``sync``."""
        if self._journal_fd is None:
            self._journal_fd = _open_own_for_append(self.path / JOURNAL)
        fsops.write_all(self._journal_fd, lines)
        if sync:
            fsops.full_fsync(self._journal_fd)

    def close(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def last_milestone(self) -> dict[str, Any] | None:
        """The last line of the journal that a status follows (start, end,
        undo started, undo done), read from the end, and no further back than
        JOURNAL_SCAN: a finished run's is its last line, whatever the
        journal's size, and a journal grown huge cannot hold a repair up."""
        try:
            fd = os.open(self.path / JOURNAL, _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Damaged(f"its journal cannot be read ({exc.strerror or exc})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Damaged("its journal is not a plain file")
            for line in _lines_backwards(fd, JOURNAL_SCAN):
                event = _milestone(line)
                if event is not None:
                    return event
            if os.fstat(fd).st_size > JOURNAL_SCAN:
                raise Damaged(f"its journal is larger than {JOURNAL_SCAN >> 20} MB and ends with no line it "
                              "would have")
        finally:
            os.close(fd)
        return None

    def changed_ids(self) -> set[str] | None:
        """The sessions a *finished* run says it changed (its action-done
        lines), or None when it cannot say (an old or unreadable journal).
        These lines can only narrow what an undo does, never widen it: the
        sealed manifest bounds it."""
        return self.journal_changes()[0]

    def journal_changes(self) -> tuple[set[str] | None, bool]:
        """changed_ids(), and whether the run's own summary (its first
        run-complete line) says it changed no session: both from one read of
        a journal that may be hundreds of MB."""
        ids: set[str] = set()
        seen = False
        summary: Any = None
        completed = False
        for event in iter_journal(self):
            if event.get("event") == ACTION_DONE:
                seen = True
                if event.get("outcome") in ("done", "copied-source-kept") and isinstance(event.get("id"), str):
                    ids.add(event["id"])
            elif event.get("event") == RUN_COMPLETE and not completed:
                completed, summary = True, event.get("summary")
        # Whole zeros only: a summary edited to say false, 0.0 or nothing proves nothing.
        nothing = isinstance(summary, dict) and all(type(summary.get(k)) is int and summary[k] == 0
                                                    for k in ("done", "copied-source-kept"))
        return (ids if seen else None), nothing

    def is_live(self) -> bool:
        """Is a process working on this run right now (it holds run.lock)?"""
        return oslock.is_held(self.path / RUN_LOCK)

    def status(self) -> str:
        """in progress (its lock is held: it is being made, or undone), else
        complete, interrupted, undone, partly undone or undo interrupted, from
        the journal's last milestone; damaged when the journal cannot be read."""
        if self.is_live():
            return IN_PROGRESS
        try:
            last = self.last_milestone()
        except (OSError, Damaged):
            return DAMAGED
        name = last.get("event") if last else None
        if name == UNDO_DONE:
            kept = last.get("kept") if last else None
            return PARTLY_UNDONE if kept else UNDONE
        if name == RUN_COMPLETE:
            return COMPLETE
        return UNDO_INTERRUPTED if name == UNDO_STARTED else INTERRUPTED


def journal_line(event: str, **fields: Any) -> bytes:
    """One line of a journal: the time, the event, its fields."""
    return jsjson.stringify({"t": now_iso(), "event": event, **fields}) + b"\n"


# A repair writes seven lines a session.  The two kinds it writes most are
# formatted directly, each string JSON-encoded once (jsjson.stringify) and
# reused; the constants they hold (events, steps, outcomes) are plain ASCII
# words.  A reader gets exactly what journal_line would have written.


def step_line(path_json: bytes, state: str) -> bytes:
    """``journal_line("step", path=..., state=state)``, with ``path_json`` the
    path as jsjson.stringify encodes it (once for all its item's steps)."""
    return b'{"t":"%s","event":"step","path":%s,"state":"%s"}\n' % (now_iso().encode(), path_json, state.encode())


def session_line(event: str, id_json: bytes, outcome: str | None = None) -> bytes:
    """``journal_line(event, id=..., outcome=outcome)`` (no outcome: none),
    with ``id_json`` the session id as jsjson.stringify encodes it."""
    tail = b"" if outcome is None else b',"outcome":"%s"' % outcome.encode()
    return b'{"t":"%s","event":"%s","id":%s%s}\n' % (now_iso().encode(), event.encode(), id_json, tail)


_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0))


def _read_own(path: Path, limit: int, what: str) -> bytes:
    """A run file's bytes: a plain file (never through a link, never a pipe),
    at most ``limit`` bytes; Damaged, saying why, otherwise."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise Damaged(f"{what} cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Damaged(f"{what} is not a plain file")
        if st.st_size > limit:
            raise Damaged(f"{what} is too large ({st.st_size:,} bytes)")
        return _read_fd(fd, limit + 1)
    except OSError as exc:
        raise Damaged(f"{what} cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _open_own_for_append(path: Path) -> int:
    """The journal, for appending: never through a link, never a pipe, and
    never a file that has another name elsewhere (a hard link planted in its
    place would have us write into a file outside the backup folder)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
                 | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o644)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
            raise OSError(errno.EINVAL, "the journal is not a plain file of its own", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_fd(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while total < limit:
        chunk = os.read(fd, min(1 << 20, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _milestone(line: bytes) -> dict[str, Any] | None:
    """The event on ``line`` if it is a milestone (cheap test before parsing)."""
    if b'"event"' not in line or not any(name.encode() in line for name in _MILESTONES):
        return None
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None  # the last line of a killed run may be cut short
    if isinstance(value, dict) and value.get("event") in _MILESTONES:
        return value
    return None


def _lines_backwards(fd: int, limit: int) -> Iterator[bytes]:
    """The file's lines, last first, read in chunks from the end and no more
    than ``limit`` bytes back: memory and time stay bounded however big the
    journal is.  A line longer than JOURNAL_LINE_LIMIT is not one we wrote,
    and is skipped.  A chunk holding no milestone's name is passed over
    whole, without splitting it into lines."""
    pos = os.lseek(fd, 0, os.SEEK_END)
    stop = max(0, pos - limit)
    tail, skipping = b"", False
    while pos > stop:
        step = min(_JOURNAL_CHUNK, pos - stop)
        pos -= step
        os.lseek(fd, pos, os.SEEK_SET)
        block = _read_fd(fd, step)
        if skipping:
            cut = block.rfind(b"\n")
            if cut < 0:
                continue
            block, tail, skipping = block[:cut + 1], b"", False
        data = block + tail
        if not any(name in data for name in _MILESTONE_BYTES):
            cut = data.find(b"\n")  # keep the first (perhaps partial) line for the next chunk
            tail = data if cut < 0 else data[:cut]
        else:
            lines = data.split(b"\n")
            tail = lines[0]
            yield from reversed(lines[1:])
        if len(tail) > JOURNAL_LINE_LIMIT:
            tail, skipping = b"", True
    if not skipping and pos == 0:
        yield tail


def iter_journal(run: Run) -> Iterator[dict[str, Any]]:
    """Every parseable line of a run's journal, first first, streamed (one
    line in memory at a time), and no more than JOURNAL_READ bytes of it."""
    try:
        f = open(os.open(run.path / JOURNAL, _READ_FLAGS), "rb")  # noqa: SIM115 - closed by the with below
    except OSError:
        return
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return
        budget = JOURNAL_READ
        while budget > 0:
            line = f.readline(JOURNAL_LINE_LIMIT + 1)
            budget -= len(line)
            if not line:
                return
            if len(line) > JOURNAL_LINE_LIMIT:  # not ours: skip to the end of it
                while line and not line.endswith(b"\n") and budget > 0:
                    line = f.readline(JOURNAL_LINE_LIMIT)
                    budget -= len(line)
                continue
            with contextlib.suppress(ValueError, RecursionError):
                value = json.loads(line)
                if isinstance(value, dict):
                    yield value


# --------------------------------------------------------------------- listing


@dataclass
class RunInfo:
    run_id: str
    path: Path
    kind: str | None  # None: unknown (a damaged run)
    created: str | None  # ISO 8601, UTC, as the manifest says; None when unknown
    status: str
    sessions: int
    files: int
    size: int
    ids: list[str] = field(default_factory=list)
    problem: str | None = None  # why the run is damaged

    @property
    def created_local(self) -> str:
        """When it was made, in local time, as every other time is shown."""
        try:
            moment = datetime.fromisoformat((self.created or "").replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except (ValueError, OverflowError, OSError):
            return "?"

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "path": str(self.path), "kind": self.kind, "created": self.created,
                "status": self.status, "sessions": self.sessions, "files": self.files, "size": self.size,
                "problem": self.problem}


def _is_run_folder(entry: os.DirEntry[str]) -> bool:
    """A folder named like a run, never a link, that got as far as its
    manifest or its journal (whatever they are now: one made unreadable is
    listed, as damaged, never silently dropped).  Anything else in a backup
    folder (the user's own folders, say) is not ours."""
    if not runcheck.is_run_name(entry.name) or not entry.is_dir(follow_symlinks=False):
        return False
    return any(fsops.lexists(os.path.join(entry.path, name)) for name in (MANIFEST, JOURNAL))


def runs(root: Path) -> list[Run]:
    """Every run folder in ``root``, oldest first."""
    try:
        with os.scandir(root) as it:
            names = sorted(e.name for e in it if _is_run_folder(e))
    except OSError:
        return []
    return [Run(root / name) for name in names]


def describe(run: Run) -> RunInfo:
    """What a person needs to know of a run; a damaged one says why."""
    problem = None
    try:
        manifest: Manifest | None = run.manifest()
    except Damaged as exc:
        manifest, problem = None, str(exc)
    files = size = 0
    with contextlib.suppress(OSError), os.scandir(run.files_dir) as it:
        for entry in it:
            files += 1
            size += entry.stat(follow_symlinks=False).st_size
    if manifest is None:
        return RunInfo(run.run_id, run.path, None, None, DAMAGED, 0, files, size, [], problem)
    status = run.status()
    if status == DAMAGED:
        try:
            run.last_milestone()
        except (OSError, Damaged) as exc:
            problem = str(exc)
    changed, nothing = run.journal_changes() if status not in (IN_PROGRESS, DAMAGED) else (None, False)
    if changed is None and status == COMPLETE and nothing:
        # Stopped (cancelled, Claude Desktop started) before its first session:
        # listed as 0, not all it planned.  Only the listing: an undo still goes
        # by the manifest (a journal can narrow what is listed, never what is put back).
        changed = set()
    ids = [a.id for a in manifest.actions if changed is None or a.id in changed]
    return RunInfo(run.run_id, run.path, manifest.kind, manifest.created or None, status, len(ids), files, size,
                   ids, problem)


def describe_all(root: Path) -> list[RunInfo]:
    """Every run in ``root``, oldest first, described."""
    return [describe(run) for run in runs(root)]


UNDOABLE = (COMPLETE, PARTLY_UNDONE, INTERRUPTED, UNDO_INTERRUPTED)


def find(root: Path, run_id: str | None) -> Run:
    """The run named ``run_id``, or (None) the last one still to undo: the
    newest complete or interrupted run (a partly undone one is undone again
    only by its id).  A damaged run is named as such, and never returned."""
    all_runs = runs(root)
    if run_id is None:
        # The last one, even when it is damaged: "undo the last change" must
        # never quietly reach back past it to an older one.
        last = (COMPLETE, INTERRUPTED, UNDO_INTERRUPTED, IN_PROGRESS, DAMAGED)
        chosen = next((run for run in reversed(all_runs) if run.status() in last), None)
        if chosen is None:
            raise NothingToUndo(f"there is no change left to undo in {root}")
    else:
        chosen = next((run for run in all_runs if run.run_id == run_id), None)
        if chosen is None:
            raise BackupError(f"there is no run {run_id!r} in {root} {SEE_LIST}")
    try:
        chosen.manifest()
        if chosen.status() == DAMAGED:
            chosen.last_milestone()
            raise Damaged("its journal cannot be read")
    except (Damaged, OSError) as exc:
        raise BackupError(f"the run {chosen.run_id} is damaged: {exc}; it was left as it is") from None
    return chosen

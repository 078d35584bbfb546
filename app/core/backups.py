"""Backup runs: the manifest written before anything changes, the journal,
undo, and recovery of a run that was interrupted.

Each repair run has a folder ``<backup root>/<run id>/`` holding:

* ``manifest.json``: written and fsync'd *before* any file is touched.  For
  every file the run may change it records the path, what the file held before
  (sha256, size, mtime, mode, or that it did not exist) and what it will hold
  after (sha256 and size, or that it will be gone).
* ``files/``: a verified copy of every file the run changes or removes, made
  before that file is touched.
* ``journal.jsonl``: what happened, one line per step.

Undo and recovery trust the disk and the manifest, not the journal's lines:
they look at each file, and a file that holds its "after" bytes is put back to
its "before" bytes (from ``files/``), one that holds its "before" bytes is
left alone, and one that holds anything else was changed by someone else since
the run and is never overwritten.  Every step of a run moves a file between
"before" and "after" atomically, so a run killed at any moment can always be
undone this way; the journal says which runs finished.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from app import APP_NAME, __version__
from app.core import engine as E
from app.core import fsops, jsjson, pidlock
from app.core.longpaths import extended

MANIFEST, JOURNAL, FILES, LOCK = "manifest.json", "journal.jsonl", "files", ".lock"
FORMAT = 1

# Journal events (the ``event`` of each line).
RUN_STARTED, BACKED_UP, ACTION_DONE, RUN_COMPLETE = "run-started", "backed-up", "action-done", "run-complete"
UNDO_STARTED, UNDO_DONE, RECOVERED = "undo-started", "undo-done", "recovered"

# What ``status`` says of a run.
COMPLETE, INTERRUPTED, IN_PROGRESS, UNDONE, PARTLY_UNDONE, UNDO_INTERRUPTED = (
    "complete", "interrupted", "in progress", "undone", "partly undone", "undo interrupted")


class BackupError(Exception):
    """A backup folder that cannot be used; the message is one sentence."""


class Busy(BackupError):
    """Another Session Rescue is repairing or undoing right now."""


def default_root() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "backups"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_root(root: Path, data_dirs: Sequence[Path]) -> None:
    """Backups never go inside Claude's data folder: nothing but session
    records is ever written there, and the app would see (or sync) them."""
    real = os.path.realpath(root)
    for data_dir in data_dirs:
        data_real = os.path.realpath(data_dir)
        with contextlib.suppress(ValueError):
            if os.path.commonpath([real, data_real]) == data_real:
                raise BackupError(f"the backup folder {root} is inside Claude's data folder {data_dir}; "
                                  "choose one outside it")


# ------------------------------------------------------------------ snapshots


@dataclass(frozen=True)
class Snapshot:
    """What a file held: enough to recognise it and to put it back."""

    sha256: str
    size: int
    mtime_ns: int = 0
    mode: int = 0o644

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "mtime_ns": self.mtime_ns, "mode": self.mode}

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Snapshot | None:
        if value is None:
            return None
        return cls(value["sha256"], value["size"], value.get("mtime_ns", 0), value.get("mode", 0o644))


@dataclass(frozen=True)
class FileChange:
    """One file a repair changes: what it holds before, and after (None: absent)."""

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
    return fsops.sha256_file(path)[0]


# ------------------------------------------------------------------- the run


@contextlib.contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """One repair or undo at a time per backup folder.  A lock left by a
    process that no longer runs (killed, or a power cut) is taken over."""
    try:
        with pidlock.held(root / LOCK):
            yield
    except pidlock.Held as exc:
        raise Busy(f"another Session Rescue (process {exc.owner.get('pid', '?')}) is repairing or undoing right "
                   "now; wait for it to finish") from None


@dataclass
class Run:
    """One run's backup folder."""

    path: Path
    _journal_fd: int | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def files_dir(self) -> Path:
        return self.path / FILES

    @classmethod
    def create(cls, root: Path, actions: list[dict[str, Any]], kind: str = "repair") -> Run:
        """Make the run folder and write its manifest, durably, before anything
        else happens.  ``actions`` is the manifest's list (see module doc)."""
        root.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            # Names sort in the order the runs were made, to the millisecond:
            # "the last run" is the last name (a repair, a rebuild and an
            # adopt can all start within one second).
            now = datetime.now()
            run_id = f"{now:%Y%m%d-%H%M%S}.{now.microsecond // 1000:03d}-{secrets.token_hex(2)}"
            try:
                (root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        else:
            raise BackupError(f"could not make a new run folder in {root}")
        run = cls(root / run_id)
        run.files_dir.mkdir()
        manifest = {"format": FORMAT, "run_id": run_id, "kind": kind, "created": now_iso(),
                    "tool": f"session-rescue {__version__}", "owner": pidlock.me(), "actions": actions}
        # Written under another name and renamed: a run folder whose manifest
        # is there is a run whose manifest is whole.
        part = run.path / (MANIFEST + ".part")
        # Compact: an indented dump goes through json's pure-Python encoder,
        # some 0.4 s for a thousand sessions.
        fsops.write_durable(str(part), jsjson.stringify(manifest))
        os.replace(part, run.path / MANIFEST)
        fsops.fsync_dir(str(run.path))
        fsops.fsync_dir(str(root))
        run.log(RUN_STARTED, sync=True)
        return run

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_bytes())

    def log(self, event: str, sync: bool = False, **fields: Any) -> None:
        """Append a journal line.  Lines that recovery's decisions depend on
        (start, end, undo) are fsync'd; step lines are an audit trail and are
        flushed by the OS, because recovery reads the files themselves."""
        line = jsjson.stringify({"t": now_iso(), "event": event, **fields}) + b"\n"
        if self._journal_fd is None:
            self._journal_fd = os.open(self.path / JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND
                                       | getattr(os, "O_BINARY", 0), 0o644)
        fsops.write_all(self._journal_fd, line)
        if sync:
            fsops.full_fsync(self._journal_fd)

    def close(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

    def events(self) -> list[dict[str, Any]]:
        try:
            raw = (self.path / JOURNAL).read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in raw.splitlines():
            with contextlib.suppress(ValueError):  # the last line of a killed run may be cut
                out.append(json.loads(line))
        return out

    def status(self, events: list[dict[str, Any]] | None = None) -> str:
        names = [e.get("event") for e in (self.events() if events is None else events)]
        if UNDO_DONE in names:
            last = [e for e in (events or self.events()) if e.get("event") == UNDO_DONE][-1]
            return UNDONE if not last.get("kept") else PARTLY_UNDONE
        if UNDO_STARTED in names:
            return UNDO_INTERRUPTED
        if RUN_COMPLETE in names:
            return COMPLETE
        try:
            owner = self.manifest().get("owner")
        except (OSError, ValueError):
            owner = None
        return IN_PROGRESS if pidlock.alive(owner) else INTERRUPTED


# --------------------------------------------------------------------- listing


@dataclass
class RunInfo:
    run_id: str
    path: Path
    kind: str
    created: str
    status: str
    sessions: int
    files: int
    size: int
    ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "path": str(self.path), "kind": self.kind, "created": self.created,
                "status": self.status, "sessions": self.sessions, "files": self.files, "size": self.size}


def runs(root: Path) -> list[Run]:
    """Every run folder in ``root``, oldest first."""
    try:
        entries = sorted(p for p in root.iterdir() if (p / MANIFEST).is_file())
    except FileNotFoundError:
        return []
    return [Run(p) for p in entries]


def describe(run: Run) -> RunInfo:
    try:
        manifest = run.manifest()
    except (OSError, ValueError):
        manifest = {}
    actions = manifest.get("actions", [])
    files = size = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(run.files_dir):
            files += 1
            size += entry.stat(follow_symlinks=False).st_size
    return RunInfo(run.run_id, run.path, manifest.get("kind", "repair"), manifest.get("created", "?"),
                   run.status(), len(actions), files, size, [a.get("id", "?") for a in actions])


def describe_all(root: Path) -> list[RunInfo]:
    """Every run in ``root``, oldest first, described."""
    return [describe(run) for run in runs(root)]


def find(root: Path, run_id: str | None) -> Run:
    """The run named ``run_id``, or (None) the newest one that can be undone."""
    all_runs = runs(root)
    if run_id is None:
        for run in reversed(all_runs):
            if run.status() in (COMPLETE, PARTLY_UNDONE, INTERRUPTED, UNDO_INTERRUPTED):
                return run
        raise BackupError(f"there is no repair to undo in {root}")
    for run in all_runs:
        if run.run_id == run_id:
            return run
    raise BackupError(f"there is no run {run_id!r} in {root} (see 'session-rescue backups')")


# ------------------------------------------------------------------------ undo


@dataclass
class UndoResult:
    id: str
    outcome: str  # done, already-identical (nothing to undo), failed, kept (changed since)
    detail: str = ""


KEPT = "kept"


def _plan_undo(run: Run, action: dict[str, Any]) -> tuple[list[E.Item], str | None]:
    """The engine items that put one action's files back, or why they cannot."""
    restores: list[E.Item] = []
    removals: list[E.Item] = []
    for change in action["files"]:
        path = change["path"]
        before, after = Snapshot.from_json(change["before"]), Snapshot.from_json(change["after"])
        now = current_sha(path)
        if now == (before.sha256 if before else None):
            continue  # already as it was before the run
        if now != (after.sha256 if after else None):
            return [], f"{path} has changed since the repair; left as it is"
        if before is None:
            removals.append(E.Item(E.REMOVE, path, target_sha256=now))
            continue
        backup = run.path / (change.get("backup") or "")
        if not change.get("backup") or current_sha(str(backup)) != before.sha256:
            return [], f"the backup of {path} is missing or damaged; left as it is"
        restores.append(E.Item(E.COPY, path, source=str(backup), source_sha256=before.sha256,
                               target_sha256=now))
    # Put every old file back before removing any new one: at no moment is
    # the session without a copy.
    return restores + removals, None


def undo(run: Run, engine: E.Engine | None = None,
         progress: Callable[[int, int, str], bool] | None = None) -> list[UndoResult]:
    """Put back, byte for byte, every file the run changed, and remove the
    files it created.  Files changed since the run are kept, never overwritten."""
    engine = engine or E.Engine()
    manifest = run.manifest()
    try:
        run.log(UNDO_STARTED, sync=True)
        for folder in _folders(run, manifest):
            E.sweep_temps(folder)
        results: list[UndoResult] = []
        actions = list(reversed(manifest.get("actions", [])))
        for index, action in enumerate(actions):
            if progress is not None and progress(index, len(actions), action["id"]) is False:
                engine.cancel()
            if engine.cancelled:
                results.extend(UndoResult(a["id"], E.CANCELLED, "cancelled") for a in actions[index:])
                break
            results.append(_undo_action(run, engine, action))
            run.log("action-undone", id=action["id"], outcome=results[-1].outcome, detail=results[-1].detail)
        if not any(r.outcome == E.CANCELLED for r in results):
            run.log(UNDO_DONE, sync=True, kept=[r.id for r in results if r.outcome not in (E.DONE, E.IDENTICAL)])
    finally:
        run.close()
    return results


def _undo_action(run: Run, engine: E.Engine, action: dict[str, Any]) -> UndoResult:
    items, problem = _plan_undo(run, action)
    if problem:
        return UndoResult(action["id"], KEPT, problem)
    if not items:
        return UndoResult(action["id"], E.IDENTICAL, "nothing to undo")
    done = []
    for item in items:
        done.append(engine.apply(item))
        if not done[-1].ok:
            return UndoResult(action["id"], E.FAILED, done[-1].detail)
    return UndoResult(action["id"], E.DONE, "restored")


def _folders(run: Run, manifest: dict[str, Any]) -> list[str]:
    folders = {os.path.dirname(change["path"]) for a in manifest.get("actions", []) for change in a["files"]}
    return sorted(folders) + [str(run.files_dir)]


def recover(root: Path, engine: E.Engine | None = None) -> list[tuple[Run, list[UndoResult]]]:
    """Undo every run in ``root`` that was interrupted (its process is gone
    and it never finished), and finish every interrupted undo.  What the run
    had done is reversed exactly; the caller can then repair again."""
    recovered = []
    for run in reversed(runs(root)):  # newest first, as undo must go
        if run.status() in (INTERRUPTED, UNDO_INTERRUPTED):
            try:
                results = undo(run, engine)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise BackupError(f"the interrupted run {run.path} could not be undone ({exc}); "
                                  "its backups are kept there") from None
            run.log(RECOVERED, sync=True)
            run.close()
            recovered.append((run, results))
    return recovered


def ensure_writable(root: Path) -> None:
    """Fail early, in one sentence, if backups cannot be written to ``root``."""
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

"""Keep sessions repaired while the bug lasts.

On Windows Store installs every new session hits the rename bug again, so a
one-time repair is not enough.  The watcher repairs at start if Claude Desktop
is not running, and again each time Claude Desktop quits: the same repair as
``session-rescue repair`` (backups, journal, never while Claude runs).

While it waits it only asks, every few seconds, whether Claude Desktop runs
(a cheap look at the process list; see claude_process), and keeps no file in
Claude's folder open.  One watcher runs per user (a lock in the user's data
folder names it).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
import psutil

from app import APP_NAME
from app.core import autostart, backups, claude_process, engine, locations, oslock, plans, prune, transaction
from app.core.kinds import Kind

log = logging.getLogger(__name__)
DEFAULT_INTERVAL = 5.0
AT_START, AFTER_QUIT, RETRY = "at start", "after Claude Desktop quit", "again (the last attempt was busy)"
KEPT_EVENTS = 50  # the watcher runs for days: it remembers only its last repairs


def lock_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "watcher.lock"


def running_pid() -> int | None:
    """The process id of the watcher that holds the lock, when it runs on
    this computer (the lock itself is what says one runs)."""
    note = oslock.holder(lock_path())
    if note is None:
        return None
    pid = note.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


def start_in_background() -> None:
    """Start a watcher detached from this process (it exits at once if one
    already runs), the same program as autostart would start.  On POSIX it is
    started through a short-lived middle process, so that it is nobody's
    child: it outlives the window, and never lingers as its zombie."""
    cmd = [*autostart.command(), "watch"]
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if sys.platform == "win32":
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        subprocess.Popen(cmd, creationflags=flags, **quiet)  # type: ignore[call-overload]
        return
    launcher = ("import subprocess, sys; subprocess.Popen(sys.argv[1:], start_new_session=True, "
                "stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)")
    subprocess.run([sys.executable, "-c", launcher, *cmd], check=True, timeout=60, **quiet)  # type: ignore[call-overload]


def stop_running() -> int | None:
    """Stop the running watcher, if any; its process id.  The lock's note
    names it, but the note is plain text anyone may overwrite: the process
    it names is stopped only if it is verifiably a watcher of ours (its
    command line is this program's ``watch``, see :func:`is_watcher_command`)
    that began before it took the lock (a process id can be reused by
    another program).  Anything else is left alone, and None returned."""
    note = oslock.holder(lock_path())
    pid = running_pid()
    if note is None or pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.create_time() > float(note.get("since", 0)) + 1.0:
            return None
        with proc.oneshot():
            cmdline, exe = proc.cmdline(), proc.exe()
        if not is_watcher_command(cmdline, exe):
            log.warning("the watcher's lock names process %d, which is not a Session Rescue watcher: "
                        "left alone", pid)
            return None
        proc.terminate()  # psutil checks first that the pid still names the process judged here
    except (psutil.Error, OSError, ValueError, TypeError):
        return None
    return pid


def is_watcher_command(cmdline: list[str], exe: str) -> bool:
    """Is this process (its command line, and the executable the system says
    it runs) a Session Rescue watcher: ``<this program> watch [options]``,
    the program being one of autostart.command()'s forms: the frozen
    executable, the ``session-rescue`` script, or Python running ``-m app``
    (or ``-P -m app``)?  The executable is judged by the system's word, not
    by the command line's first word, which a process chooses freely."""
    def base(path: str) -> str:
        return path.replace("\\", "/").rsplit("/", 1)[-1].lower()

    runs, args = base(exe or ""), list(cmdline or ())
    if runs.startswith(("session-rescue", "sessionrescue")):
        return args[1:2] == ["watch"]  # the frozen executable, or the script's own .exe on Windows
    if not runs.startswith("python"):
        return False
    if len(args) > 1 and base(args[1]).startswith("session-rescue"):
        return args[2:3] == ["watch"]  # the script, run by the interpreter its first line names
    return any(args[1:2 + len(form)] == [*form, "watch"] for form in (["-m", "app"], ["-P", "-m", "app"]))


@dataclass
class RepairEvent:
    """One repair the watcher made (or tried): plain data for a log line, a
    tray menu entry or a notification."""

    when: float
    reason: str
    report: plans.Report | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # runs recovered or left alone, backups pruned

    @property
    def restored(self) -> int:
        if self.report is None:
            return 0
        counts = self.report.summary()
        return counts[engine.DONE] + counts[engine.SOURCE_KEPT]

    @property
    def failed(self) -> int:
        return self.report.summary()[engine.FAILED] if self.report else 0

    @property
    def worth_telling(self) -> bool:
        return bool(self.restored or self.failed or self.error or self.notes
                    or (self.report is not None and self.report.stopped))

    def sentence(self) -> str:
        if self.error:
            return f"Could not repair {self.reason}: {self.error}"
        if self.report is not None and self.report.stopped_by_claude:
            return f"Restored {self.restored} session{'s' * (self.restored != 1)} {self.reason}, then stopped: " \
                   "Claude Desktop started again"
        if not self.restored and not self.failed:
            text = f"Checked {self.reason}: nothing needed repair"
        else:
            text = f"Restored {self.restored} session{'s' * (self.restored != 1)} {self.reason}"
            if self.failed:
                text += f"; {self.failed} could not be repaired"
        if self.report is not None and self.report.stopped:
            text += f". {self.report.stopped}"
        return text


class Watcher:
    """Decides when to repair, and repairs.  ``tick()`` is one look; ``run()``
    ticks until stopped.  ``data_dirs`` None means: the folders discovery
    finds at each repair (Claude's data may appear after the watcher starts)."""

    def __init__(self, backup_root: Path, data_dirs: list[locations.DataDir] | None = None,
                 claude_check: Callable[[], list[claude_process.ClaudeProcess]] = claude_process.running,
                 keep: prune.Policy | None = None):
        self.backup_root = backup_root
        self.data_dirs = data_dirs
        self.claude_check = claude_check
        self.keep = keep or prune.Policy()
        self._claude_was: bool | None = None  # None: not looked yet
        self._retry: str | None = None
        self._told: set[str] = set()  # runs left alone that the user was already told of
        self.events: deque[RepairEvent] = deque(maxlen=KEPT_EVENTS)

    def tick(self) -> RepairEvent | None:
        """Look once; repair if Claude Desktop has just quit (or at start)."""
        running = self.claude_check()
        if running:
            if self._claude_was is not True:
                log.info("Claude Desktop is running (%s); the next repair waits until it quits", running[0])
            self._claude_was = True
            return None
        reason = AT_START if self._claude_was is None else AFTER_QUIT if self._claude_was else self._retry
        self._claude_was = False
        if reason is None:
            return None
        return self._repair(reason)

    def _repair(self, reason: str) -> RepairEvent | None:
        dirs = self.data_dirs if self.data_dirs is not None else [
            d for d in locations.discover().found if d.has_sessions]
        event = RepairEvent(time.time(), reason)
        if not dirs:
            log.info("no Claude Desktop sessions found; nothing to repair %s", reason)
            self._retry = None
            return None
        job = transaction.Job(Kind.REPAIR, dirs, self.backup_root, locations.transcripts_dir(data_dirs=dirs))
        try:
            done = transaction.run(job, claude_process.Guard())
        except claude_process.ClaudeRunning as exc:
            log.info("%s; the repair waits until it quits", exc)
            self._claude_was = True
            return None
        except backups.Busy as exc:
            log.info("%s; will try again", exc)
            self._retry = RETRY if reason == RETRY else reason
            return None
        except (backups.BackupError, plans.PlanError, OSError) as exc:
            event.error = str(exc)
        else:
            if done.stopped:  # Claude Desktop started while an interrupted run was being undone
                log.info("%s", done.stopped)
                self._claude_was = True
                return None
            event.report = done.report
            event.notes = [n for n in done.notes() if self._first_time(n)]
            event.notes += self._prune()
        self._retry = None
        if event.report is not None and event.report.stopped_by_claude:
            self._claude_was = True
        for note in event.notes:
            log.warning("%s", note)
        log.info("%s%s", event.sentence(), f" (backups: {event.report.backup_dir})"
                 if event.report and event.report.backup_dir else "")
        self.events.append(event)
        return event

    def _first_time(self, note: str) -> bool:
        """Say each run left alone once, not at every repair."""
        if note in self._told:
            return False
        self._told.add(note)
        return True

    def _prune(self) -> list[str]:
        """Let old runs go, as the policy says; a sentence if some could not."""
        try:
            with backups.exclusive(self.backup_root):
                done = prune.prune(self.backup_root, self.keep)
        except (backups.BackupError, OSError) as exc:
            return [f"Old backups could not be cleaned up: {exc}"]
        if done.removed:
            log.info("removed %d old backup run%s", len(done.removed), "s" * (len(done.removed) != 1))
        return [f"The old backup run {run_id} was kept: {why}" for run_id, why in done.failed
                if self._first_time(run_id)]

    def run(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL,
            on_event: Callable[[RepairEvent], None] | None = None) -> None:
        log.info("watching for Claude Desktop to quit, every %g s; backups go to %s", interval, self.backup_root)
        while not stop.is_set():
            event = self.tick()
            if event is not None and on_event is not None:
                on_event(event)
            stop.wait(interval)
        log.info("stopped watching")

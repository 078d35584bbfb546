"""Is Claude Desktop running?  Repairs must wait until it has fully quit.

Claude Desktop keeps every session record in memory and writes it back from
memory, so a file repaired while it runs is overwritten at its next save
(storage reference §4).  It also keeps running in the tray after its window
closes.  What counts as Claude Desktop (§4, "Process detection"):

* Windows: ``Claude.exe`` under ``\\WindowsApps\\Claude_…`` (the Store/MSIX
  build) or ``\\AnthropicClaude\\`` (the older installer);
* macOS: the executable inside ``Claude.app``;
* Linux: Electron running claude-desktop's ``app.asar``, or the
  ``claude-desktop`` launcher.

The Claude Code CLI is not Claude Desktop: it is ``claude`` (a Node script),
or a ``claude.exe`` somewhere else, and it may keep running while we repair.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

QUIT_ADVICE = ("Quit Claude Desktop fully, including its icon in the system tray (menu bar on a Mac), "
               "then try again.")


@dataclass(frozen=True)
class ClaudeProcess:
    pid: int
    name: str
    exe: str

    def __str__(self) -> str:
        return f"{self.name} (process {self.pid})"


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh"})


def _norm(path: str) -> str:
    return path.replace("\\", "/").lower()


def is_claude_desktop(platform: str, name: str, exe: str, cmdline: Sequence[str]) -> bool:
    """Whether one process, as psutil describes it, is Claude Desktop on ``platform``."""
    name_l, exe_n = (name or "").lower(), _norm(exe or "")
    if platform.startswith("win"):
        if name_l != "claude.exe" and not exe_n.endswith("/claude.exe"):
            return False
        return "/windowsapps/claude_" in exe_n or "/anthropicclaude/" in exe_n
    if platform == "darwin":
        # The main executable, and its helpers, all live inside the bundle.
        return "/claude.app/contents/" in exe_n
    args = [_norm(a) for a in cmdline or ()]
    if any(a.endswith("app.asar") and "claude-desktop" in a for a in args):
        return True
    # The launcher is a shell script: "claude-desktop" itself, or a shell
    # running it.  (An editor with the script open is not Claude.)
    words = [a.rsplit("/", 1)[-1] for a in args[:2]]
    runs_launcher = bool(words) and (words[0] == "claude-desktop" or (
        words[0] in _SHELLS and len(words) > 1 and words[1] == "claude-desktop"))
    return name_l == "claude-desktop" or exe_n.endswith("/claude-desktop") or runs_launcher


def _candidate(platform: str, name: str) -> bool:
    """Could a process of this name be Claude Desktop?  Only these are looked
    at closely: reading every process's path and command line costs a
    watcher polling every few seconds far more than reading names."""
    name = name.lower()
    if platform.startswith("win"):
        return name == "claude.exe"
    return "claude" in name or "electron" in name or name in _SHELLS or name == "apprun"


def read_processes(platform: str, only: set[int] | None = None) -> tuple[set[int], list[ClaudeProcess]]:
    """The one place the process list is read: every process id now, and the
    Claude Desktop processes among ``only`` (None: among all of them)."""
    found = []
    if only is None:
        current = set()
        procs = psutil.process_iter(["name"])
    else:
        current = set(psutil.pids())
        procs = (_process(pid) for pid in sorted(current & only))
    for proc in procs:
        if proc is None:
            continue
        current.add(proc.pid)
        try:
            name = (proc.info.get("name") if hasattr(proc, "info") else proc.name()) or ""
            if not _candidate(platform, name):
                continue
            with proc.oneshot():
                exe, cmdline = _quietly(proc.exe), _quietly(proc.cmdline)
            if is_claude_desktop(platform, name, exe or "", cmdline or ()):
                found.append(ClaudeProcess(proc.pid, name or "?", exe or ""))
        except (psutil.Error, OSError):
            continue  # it ended while we looked
    return current, found


def _quietly(get):  # type: ignore[no-untyped-def]
    try:
        return get()
    except psutil.AccessDenied:  # another user's process: judge it by what we may see
        return None


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except (psutil.Error, OSError):
        return None


def running(platform: str | None = None) -> list[ClaudeProcess]:
    """Every Claude Desktop process on this machine (empty when it has quit).

    ``platform`` picks whose rules apply; it defaults to this machine's, and
    the tests use it to try the Windows and macOS rules on real processes."""
    return read_processes(platform or sys.platform)[1]


class ClaudeRunning(Exception):
    """Claude Desktop runs, so nothing may change; ``processes`` says which."""

    def __init__(self, processes: Sequence[ClaudeProcess]):
        super().__init__(message(processes))
        self.processes = list(processes)


class Guard:
    """Watches for Claude Desktop while a job changes files: one full look
    (:meth:`running`) before the job, then, between sessions, a cheap look
    (:meth:`appeared`) that inspects only processes it has not judged yet.

    A full look reads every process's name (a few ms); a repair changes a
    session in about a millisecond.  So the cheap look runs at most every
    ``every`` seconds, lists the process ids (one directory read on Linux)
    and inspects only the new ones, and the young ones again: a process
    that was a shell when first seen may have become Claude Desktop since
    (its launcher execs it)."""

    YOUNG = 2.0  # seconds during which a new process is looked at again

    def __init__(self, platform: str | None = None, every: float = 0.1):
        self.platform = platform or sys.platform
        self.every = every
        self._known: set[int] = set()
        self._young: dict[int, float] = {}
        self._last = 0.0

    def running(self) -> list[ClaudeProcess]:
        """A full look, now; every process seen is remembered as judged."""
        self._known, found = read_processes(self.platform)
        self._young.clear()
        self._last = time.monotonic()
        return found

    def appeared(self) -> list[ClaudeProcess]:
        """Claude Desktop processes started since the last look (empty most
        of the time, and cheap).  Looks at most every ``every`` seconds."""
        now = time.monotonic()
        if now - self._last < self.every:
            return []
        self._last = now
        current = set(psutil.pids())
        new = current - self._known
        self._young = {pid: born for pid, born in self._young.items() if pid in current and now - born < self.YOUNG}
        self._young.update((pid, now) for pid in new)
        self._known = current
        if not self._young:
            return []
        return read_processes(self.platform, set(self._young))[1]


def message(processes: Sequence[ClaudeProcess]) -> str:
    """One sentence for the user."""
    shown = ", ".join(str(p) for p in processes[:3])
    return f"Claude Desktop is running ({shown}). {QUIT_ADVICE}"

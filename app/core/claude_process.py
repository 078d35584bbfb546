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

import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psutil

QUIT_ADVICE = ("Quit Claude Desktop fully, including its icon in the system tray (menu bar on a Mac), "
               "then try again.")


@dataclass(frozen=True)
class ClaudeProcess:
    pid: int
    name: str
    exe: str

    def __str__(self) -> str:
        return f"{self.name}, process {self.pid}"


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


def read_processes(platform: str, only: set[int] | None = None
                   ) -> tuple[set[int], list[ClaudeProcess], set[int]]:
    """The one place the process list is read: every process id now, the
    Claude Desktop processes among ``only`` (None: among all of them), and
    the ids, among those looked at, whose name is a candidate (see
    :func:`_candidate`): a shell now may be Claude Desktop later, when the
    launcher it runs execs it."""
    found = []
    candidates: set[int] = set()
    looks: Iterator[_Look]
    if only is None:
        current: set[int] = set()
        looks = _by_psutil(psutil.process_iter(["name"]))
    else:
        current = set(psutil.pids())
        chosen = sorted(current & only)
        looks = _by_procfs(chosen) if psutil.LINUX else _by_psutil(_process(pid) for pid in chosen)
    for pid, name, details in looks:
        current.add(pid)
        if not _candidate(platform, name):
            continue
        candidates.add(pid)
        try:
            exe, cmdline = details()
        except (psutil.Error, OSError):
            continue  # it ended while we looked
        if is_claude_desktop(platform, name, exe, cmdline):
            found.append(ClaudeProcess(pid, name or "?", exe))
    return current, found, candidates


# One process as read_processes sees it: its id, its name, and how to read
# its executable and command line (only candidates' are read).
_Look = tuple[int, str, Callable[[], tuple[str, list[str]]]]


def _by_psutil(procs: Iterable[psutil.Process | None]) -> Iterator[_Look]:
    for proc in procs:
        if proc is None:
            continue
        try:
            name = (proc.info.get("name") if hasattr(proc, "info") else proc.name()) or ""
        except (psutil.Error, OSError):
            continue  # it ended while we looked
        yield proc.pid, name, functools.partial(_details, proc)


def _details(proc: psutil.Process) -> tuple[str, list[str]]:
    with proc.oneshot():
        return _quietly(proc.exe) or "", _quietly(proc.cmdline) or []


_T = TypeVar("_T")


def _quietly(get: Callable[[], _T]) -> _T | None:
    try:
        return get()
    except psutil.AccessDenied:  # another user's process: judge it by what we may see
        return None


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except (psutil.Error, OSError):
        return None


def _by_procfs(pids: Iterable[int]) -> Iterator[_Look]:
    """The same as psutil would give, read from /proc directly: the cheap
    look reads a few dozen processes every tenth of a second, and psutil
    costs several times what the three small reads do (comm, exe, cmdline)."""
    for pid in pids:
        try:
            name = _proc_read(pid, "comm", 64).removesuffix("\n")
            if len(name) >= 15:  # cut by the kernel: psutil completes it from the command line
                args = _proc_cmdline(pid)
                if args and os.path.basename(args[0]).startswith(name):
                    name = os.path.basename(args[0])
        except PermissionError:
            name = ""
        except OSError:
            continue  # it ended while we looked
        yield pid, name, functools.partial(_proc_details, pid)


def _proc_read(pid: int, entry: str, size: int = 4096) -> str:
    """One file of /proc/<pid>, whole: its files are read in one go, unless
    they fill the buffer (a long command line)."""
    fd = os.open(f"/proc/{pid}/{entry}", os.O_RDONLY)
    try:
        data = chunk = os.read(fd, size)
        while len(chunk) == size:
            chunk = os.read(fd, size)
            data += chunk
    finally:
        os.close(fd)
    return os.fsdecode(data)


def _proc_cmdline(pid: int) -> list[str]:
    """As psutil reads it: NUL-separated, or spaces for a process that
    rewrote its command line (setproctitle)."""
    data = _proc_read(pid, "cmdline")
    if not data:
        return []  # a zombie, or a kernel thread
    sep = "\0" if data.endswith("\0") else " "
    data = data.removesuffix(sep)
    args = data.split(sep)
    return data.split(" ") if sep == "\0" and len(args) == 1 and " " in data else args


def _proc_details(pid: int) -> tuple[str, list[str]]:
    """Executable and command line; empty when another user's (not ours to
    read), OSError when the process has ended."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe").split("\0")[0]
    except PermissionError:
        exe = ""
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            raise
        exe = ""  # a kernel thread, or a zombie
    if exe.endswith(" (deleted)") and not os.path.exists(exe):
        exe = exe.removesuffix(" (deleted)")
    try:
        cmdline = _proc_cmdline(pid)
    except PermissionError:
        cmdline = []
    return exe, cmdline


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
    (:meth:`appeared`) that inspects only the processes that could have
    become Claude Desktop since.

    A full look reads every process's name (a few ms); a repair changes a
    session in about a millisecond.  So the cheap look runs at most every
    ``every`` seconds, lists the process ids (one directory read on Linux)
    and inspects:

    * the new ones;
    * the young ones again (first seen less than ``YOUNG`` seconds ago): a
      process caught between its fork and its exec still bears its parent's
      name;
    * every process whose name, at any look, was a candidate (a shell,
      Electron, AppRun, claude…), for as long as it lives: a launcher is a
      shell until it execs Claude Desktop, however late that is, and a
      launcher may exec Claude through a short-lived ``env`` or ``nohup``.

    Processes of any other name, once judged, are not inspected again.  On
    Linux a process inspected costs about 15 microseconds (three small reads
    in /proc), so a few dozen shells cost well under a millisecond a look."""

    YOUNG = 5.0  # seconds during which a new process is looked at again, whatever its name

    def __init__(self, platform: str | None = None, every: float = 0.1):
        self.platform = platform or sys.platform
        self.every = every
        self._known: set[int] = set()
        self._young: dict[int, float] = {}
        self._watched: set[int] = set()  # judged, but named like a launcher: looked at every time
        self._last = 0.0

    def running(self) -> list[ClaudeProcess]:
        """A full look, now; every process seen is remembered as judged, and
        those with a candidate's name as worth a look every time."""
        self._known, found, self._watched = read_processes(self.platform)
        self._young.clear()
        self._last = time.monotonic()
        return found

    def appeared(self) -> list[ClaudeProcess]:
        """Claude Desktop processes started since the last look, or become
        Claude Desktop since (empty most of the time, and cheap).  Looks at
        most every ``every`` seconds."""
        now = time.monotonic()
        if now - self._last < self.every:
            return []
        self._last = now
        # The processes judged before and worth another look, first; that
        # look lists the process ids too, and only new ones need a second
        # (any born between the two are new at the next look).
        self._young = {pid: born for pid, born in self._young.items() if now - born < self.YOUNG}
        current, found, candidates = read_processes(self.platform, self._watched | set(self._young))
        new = current - self._known
        if new:
            _, found_new, candidates_new = read_processes(self.platform, new)
            found, candidates = found + found_new, candidates | candidates_new
            self._young.update((pid, now) for pid in new)
        self._known = current
        self._watched = (self._watched & current) | candidates
        self._young = {pid: born for pid, born in self._young.items() if pid in current}
        return found


def names(processes: Sequence[ClaudeProcess]) -> str:
    """Which processes, for a sentence: "Claude.exe, process 4312"."""
    return "; ".join(str(p) for p in processes[:3])


def message(processes: Sequence[ClaudeProcess]) -> str:
    """One sentence for the user."""
    return f"Claude Desktop is running ({names(processes)}). {QUIT_ADVICE}"

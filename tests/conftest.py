"""Shared test helpers.  Everything here touches a real file system."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pytest

# Real Qt, without a screen (the window's tests need it; harmless elsewhere).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The tests' own user folders: the key that seals backup runs, the default
# backup folder, logs and the watcher's lock are made there, never in the real
# home of whoever runs the suite.  (Subprocesses inherit them.)
_USER_DIRS = tempfile.mkdtemp(prefix="session-rescue-tests-")
for _name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    os.environ[_name] = os.path.join(_USER_DIRS, _name.split("_")[1].lower())
atexit.register(shutil.rmtree, _USER_DIRS, True)

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "11111111-1111-4111-8111-111111111111"
ORG = "22222222-2222-4222-8222-222222222222"
T0 = 1_787_857_878_676  # epoch ms, from a real record (storage reference §2)


def _can_symlink() -> bool:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        try:
            os.symlink("target", os.path.join(d, "link"))
            return True
        except (OSError, NotImplementedError):
            return False


CAN_SYMLINK = _can_symlink()
# Windows lets only administrators and Developer Mode create links.
needs_symlinks = pytest.mark.skipif(not CAN_SYMLINK, reason="this system does not let us create links")
# Sparse files, pipes and environment-driven folders behave as tested only on POSIX.
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX behaviour")


def record(stem: str, **overrides) -> dict:
    rec = {"sessionId": stem, "cliSessionId": None, "cwd": "C:\\repo", "originCwd": "C:\\repo",
           "createdAt": T0, "lastActivityAt": T0 + 3000, "title": "A session", "titleSource": "auto",
           "isArchived": False, "completedTurns": 1, "model": "claude-opus-5", "remoteMcpServersConfig": []}
    rec.update(overrides)
    return rec


def dump(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class DataFolder:
    """A Claude data folder built file by file, as the tests need it."""

    def __init__(self, root: Path, account: str = ACCOUNT, org: str = ORG):
        self.root = root
        self.org = root / "claude-code-sessions" / account / org
        self.org.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes, org: Path | None = None) -> Path:
        path = (org or self.org) / name
        path.write_bytes(data)
        return path

    def json(self, stem: str, data: bytes | None = None, **overrides) -> Path:
        return self.write(f"{stem}.json", dump(record(stem, **overrides)) if data is None else data)

    def tmp(self, stem: str, data: bytes | None = None, **overrides) -> Path:
        return self.write(f"{stem}.json.tmp", dump(record(stem, **overrides)) if data is None else data)


@pytest.fixture(autouse=True)
def no_claude_desktop_in_process(request, monkeypatch):
    """In-process tests see no Claude Desktop, whatever runs on this machine
    (a developer's own, or another test's stand-in): the one function through
    which claude_process reads the process list answers with this process
    alone.  Tests about the guard are marked ``real_processes`` and see the
    real list.  (The product has no switch for this; only the tests do.)"""
    if request.node.get_closest_marker("real_processes"):
        return
    see_no_claude_desktop(monkeypatch)


def see_no_claude_desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process sees no Claude Desktop (for fixtures wider than a test,
    which the autouse fixture above does not reach)."""
    from app.core import claude_process

    monkeypatch.setattr(claude_process, "read_processes",
                        lambda platform, only=None: ({os.getpid()}, [], set()))


@pytest.fixture
def folder(tmp_path: Path) -> DataFolder:
    return DataFolder(tmp_path / "Claude")


def _own_pid_namespace() -> list[str]:
    """A prefix that runs a command in a PID namespace of its own, where it
    sees only its own processes (a Claude Desktop, real or a test's stand-in,
    running beside the suite is then not there for it); [] where that cannot
    be done (not root, not Linux, no unshare)."""
    unshare = shutil.which("unshare")
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or unshare is None:
        return []
    probe = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    return [unshare, "--pid", "--fork", "--mount-proc"] if probe.returncode == 0 else []


OWN_PIDS = _own_pid_namespace()
# The same, for a command that must be able to signal itself (SIGKILL,
# SIGSTOP): the first process of a PID namespace ignores signals it sends to
# itself, so a shell goes first.  A command killed so then ends the shell with
# exit status 128 + the signal's number.
OWN_PIDS_SIGNALLABLE = [*OWN_PIDS, "sh", "-c", '"$@"; exit $?', "sh"] if OWN_PIDS else []


class OwnPids:
    """A PID namespace of one test's own: the processes it starts with
    :meth:`popen` see one another (a watcher, and the stand-in Claude Desktop
    it must notice) and nothing else on this machine.  Where no namespace can
    be had, they simply run here.

    ``popen`` returns the ``nsenter`` that runs the command; nsenter passes on
    its exit code and output, but not signals, so :meth:`signal` sends them to
    the command itself, and :meth:`own_pid` says the pid the command sees as
    its own (what it writes where it names itself, an X window's _NET_WM_PID)."""

    def __init__(self) -> None:
        self.init: int | None = None
        self._holder: subprocess.Popen | None = None
        if OWN_PIDS and shutil.which("nsenter"):
            self._holder = subprocess.Popen([*OWN_PIDS, "sleep", "infinity"], start_new_session=True)
            import psutil

            deadline = time.monotonic() + 30
            while self.init is None and time.monotonic() < deadline:
                children = psutil.Process(self._holder.pid).children()
                self.init = children[0].pid if children else None
                time.sleep(0.01)

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        prefix = ["nsenter", "-t", str(self.init), "-p", "-m", "--"] if self.init else []
        return subprocess.Popen([*prefix, *args], **kwargs)

    def inner(self, proc: subprocess.Popen) -> int:
        """The host pid of the command ``proc`` runs (``proc`` itself without a namespace)."""
        if not self.init:
            return proc.pid
        import psutil

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                children = psutil.Process(proc.pid).children()
            except psutil.NoSuchProcess:
                break
            if children:
                return children[0].pid
            time.sleep(0.01)
        return proc.pid

    def signal(self, proc: subprocess.Popen, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.inner(proc), sig)

    def own_pid(self, proc: subprocess.Popen) -> int:
        host = self.inner(proc)
        if not self.init:
            return host
        with open(f"/proc/{host}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
        return host

    def close(self) -> None:
        """End every process of the namespace (killing its first one does)."""
        if self.init:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.init, signal.SIGKILL)
        if self._holder is not None:
            self._holder.wait(timeout=30)


@pytest.fixture
def own_pids():
    namespace = OwnPids()
    yield namespace
    namespace.close()


def killed_by(returncode: int, sig: int) -> bool:
    """Did the process (or, in its own PID namespace, the command the shell
    ran) end by ``sig``?"""
    return returncode in (-sig, 128 + sig)
# Commands that change files refuse while Claude Desktop runs; a test that is
# not about that runs them where no Claude Desktop can be seen, or (where no
# PID namespace can be had) tells them to go ahead.
_GUARDED = {"repair", "adopt", "rebuild", "undo"}


def run_cli(*args: str, env: dict | None = None, timeout: float = 120, guard_test: bool = False,
            **kwargs) -> subprocess.CompletedProcess:
    """The CLI, as a user runs it: a separate process.  Unless the test is
    about the Claude Desktop guard (``guard_test``), it runs in a PID
    namespace of its own, so that the processes on this machine do not
    change its answer."""
    full_env = dict(os.environ)
    full_env.pop("SESSION_RESCUE_DEBUG", None)
    full_env["PYTHONPATH"] = str(ROOT)
    full_env["PYTHONIOENCODING"] = "utf-8"
    full_env.update(env or {})
    command = [sys.executable, "-m", "app", *args] if guard_test else hermetic([sys.executable, "-m", "app"], args)
    return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", env=full_env,
                          timeout=timeout, **kwargs)


def hermetic(program: list[str], args: tuple[str, ...] | list[str]) -> list[str]:
    """The command line that runs ``program`` with the CLI ``args`` where no
    Claude Desktop of this machine can change its answer: in a PID namespace
    of its own, or else (no namespace to be had) with --ignore-running on the
    commands the guard stops."""
    args_list = list(args)
    if not OWN_PIDS and args_list and args_list[0] in _GUARDED and "--dry-run" not in args_list:
        args_list.append("--ignore-running")
    return [*OWN_PIDS, *program, *args_list]


@pytest.fixture
def shared_tmp():
    """A folder another user can reach (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="session-rescue-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def as_unprivileged(fn):
    """fn(), with permissions that bite.  Root reads everything, so when the
    tests run as root, fn runs in a forked child that has dropped to 'nobody'
    (uid 65534); its JSON-able result comes back through a pipe."""
    if os.geteuid() != 0:
        return fn()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            out = {"result": fn()}
        except BaseException:  # noqa: BLE001 - carried to the parent, which fails the test
            out = {"child failed": traceback.format_exc()}
        finally:
            os.write(write, json.dumps(out).encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = json.loads(f.read())
    os.waitpid(pid, 0)
    assert "result" in data, data
    return data["result"]


def snapshot(root: Path) -> dict:
    """Every byte, size, mode and mtime under root (links as their text)."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                content = os.readlink(p)
            elif stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
                content = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                content = None
            state[str(p)] = (st.st_mode, st.st_size, st.st_mtime_ns, content)
    return state


def files_only(state: dict) -> dict:
    """A snapshot without the folders themselves (whose mtimes change when an
    entry comes and goes)."""
    return {path: v for path, v in state.items() if not os.path.isdir(path) or os.path.islink(path)}


@pytest.fixture
def demo_window(qtbot, tmp_path):
    """The window over a fresh copy of the demo data: (window, data folder)."""
    from app.core import demo

    from test_gui import demo_dir, open_window

    info = demo.write_demo(tmp_path / "Claude")
    return open_window(qtbot, tmp_path, [demo_dir(info.path)]), info.path

"""Run session-rescue and SIGKILL it just before its Nth change to the disk.

    python kill_at.py N ROOT[:ROOT...] -- [session-rescue arguments]

A change is any call that creates, writes, renames, links, removes or
re-stamps a file or folder under one of the ROOTs, as Python's audit hooks
report it (``open`` for writing, ``os.rename``, ``os.link``, ``os.remove``,
...).  The kill is real (SIGKILL: no clean-up, no atexit, no finally), so the
process stops exactly as it would at a power cut between two of its steps.
If the run makes fewer than N changes it finishes normally; the tests use
that to know they have tried every step.  The product itself has no test hooks.

``AT_CHANGE`` in the environment picks something else to do at the Nth change
(once, then the run goes on):

* ``stop``: SIGSTOP, as a process frozen by the OS (the test sends SIGCONT);
* ``fill:PATH``: fill the file system of PATH until it is full (a real ENOSPC
  for whatever writes there next);
* ``start:PROGRAM``: start PROGRAM (a stand-in Claude Desktop) and write its
  pid and start time to PROGRAM.started.
"""

import os
import runpy
import signal
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
CHANGES = {"os.rename", "os.link", "os.remove", "os.rmdir", "os.mkdir", "os.utime", "os.chmod", "os.symlink",
           "os.truncate"}


def main() -> None:
    n = int(sys.argv[1])
    roots = [os.path.abspath(r) for r in sys.argv[2].split(os.pathsep)]
    assert sys.argv[3] == "--"
    seen = 0

    def under(path) -> bool:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        p = os.path.abspath(os.fsdecode(path))
        return any(p == r or p.startswith(r + os.sep) for r in roots)

    def hook(event: str, args: tuple) -> None:
        nonlocal seen
        if event == "open":
            path, mode, flags = args
            writes = flags & WRITE_FLAGS if mode is None else isinstance(mode, str) and any(c in mode for c in "wax+")
            if not writes or not under(path):
                return
        elif event in CHANGES:
            if not any(under(a) for a in args[:2]):
                return
        else:
            return
        seen += 1
        if seen == n:
            act()

    action = os.environ.get("AT_CHANGE", "kill")

    def act() -> None:
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
        elif action.startswith("fill:"):
            fill(action[len("fill:"):])
        elif action.startswith("start:"):
            start(action[len("start:"):])

    sys.addaudithook(hook)
    sys.argv = ["session-rescue", *sys.argv[4:]]
    runpy.run_module("app", run_name="__main__", alter_sys=True)


def fill(path: str) -> None:
    """Write zeros to PATH until the file system says it is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    block = b"\0" * 4096
    try:
        while True:
            os.write(fd, block)
    except OSError:
        pass
    finally:
        os.close(fd)


def start(program: str) -> None:
    import subprocess
    import time

    proc = subprocess.Popen([program, "600"], start_new_session=True)
    with open(program + ".started", "w") as f:
        f.write(f"{proc.pid} {time.time()}")


if __name__ == "__main__":
    main()

"""``watch``: keep sessions repaired while the bug lasts; ``autostart``: start
the watcher at logon."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from app.cli.common import EXIT_FAILED, EXIT_OK, PROG, UsageError, chosen_data_dirs, safe
from app.cli.scan_commands import has_display
from app.core import autostart, backups, logfile, oslock, prune, watcher


def cmd_watch(args: argparse.Namespace) -> int:
    dirs = chosen_data_dirs(args)[0] if args.data_dir else None  # None: discover at each repair
    root = Path(os.path.abspath(args.backup_dir)) if args.backup_dir else backups.root_for(dirs or [])
    try:
        backups.check_folder(root)
        backups.check_root(root, dirs or [])
        backups.ensure_writable(root)
    except backups.BackupError as exc:
        raise UsageError(str(exc)) from None
    logfile.start(echo=True)
    lock = watcher.lock_path()  # the one watcher.running_pid() and stop_running() look at
    watching = [str(d.path) for d in dirs] if dirs else ["every Claude data folder found"]
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        with oslock.held(lock, role="watcher", folders=watching):
            repair_watcher = watcher.Watcher(root, dirs, keep=prune.Policy(args.keep_days, args.keep_runs))
            stop = stop_on_signals()
            if has_display():
                from app.gui import tray  # Qt only when there is a screen to show an icon on

                if tray.available():
                    return tray.run(repair_watcher, args.interval, stop)
            repair_watcher.run(stop, args.interval)  # no tray: watch in this terminal (or service)
            return EXIT_OK
    except oslock.Held as exc:
        folders = exc.owner.get("folders")
        what = ", ".join(safe(f) for f in folders) if isinstance(folders, list) else "its folders"
        print(f"A watcher (process {safe(exc.owner.get('pid', '?'))}) is already keeping sessions repaired, for "
              f"{what}. Only one runs at a time; stop it first ('{PROG} autostart disable', or its tray menu).")
        return EXIT_OK
    except OSError as exc:
        raise UsageError(f"the watcher's lock {lock} cannot be used: {exc.strerror or exc}") from None


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")  # Ctrl+C; "autostart disable" and logout; Ctrl+Break


def stop_on_signals() -> threading.Event:
    """The one event that ends the watcher, in the tray or in a terminal: set
    by Ctrl+C, SIGTERM (from "autostart disable", or the session ending) or,
    on Windows, Ctrl+Break.  Installed here, in the main thread, once."""
    stop = threading.Event()

    def _handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _handler)
    return stop


def cmd_autostart(args: argparse.Namespace) -> int:
    try:
        if args.action == "enable":
            path = autostart.enable()
            print(f"Session Rescue will keep your sessions repaired from your next logon: {safe(path)}")
            print(f"To start it now: {PROG} watch")
        elif args.action == "disable":
            removed = autostart.disable()
            stopped = watcher.stop_running()
            print(f"Removed {safe(removed)}." if removed else "Autostart was not on.")
            if stopped:
                print(f"Stopped the running watcher (process {stopped}).")
        else:
            state = autostart.status()
            if state.enabled:
                runs = " ".join(state.command) if state.command else "the watcher"
                print(f"Autostart is on: {safe(state.path)} runs {safe(runs)}")
            else:
                print(f"Autostart is off (its entry would be {safe(state.path)}).")
            running = watcher.running_pid()
            print(f"A watcher is running (process {running})." if running else "No watcher is running.")
    except (OSError, subprocess.SubprocessError) as exc:  # Windows' shortcut is made by PowerShell, with a timeout
        print(f"{PROG}: autostart {args.action} failed: {safe(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK

"""``watch``: keep sessions repaired while the bug lasts; ``autostart``: start
the watcher at logon."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from app.cli.common import EXIT_FAILED, EXIT_OK, PROG, UsageError, chosen_data_dirs, safe
from app.cli.scan_commands import has_display
from app.core import autostart, backups, logfile, pidlock, watcher


def cmd_watch(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise UsageError("--interval must be a number of seconds above 0")
    dirs = chosen_data_dirs(args)[0] if args.data_dir else None  # None: discover at each repair
    root = Path(args.backup_dir) if args.backup_dir else backups.default_root()
    try:
        backups.check_root(root, [d.path for d in dirs or []])
        backups.ensure_writable(root)
    except backups.BackupError as exc:
        raise UsageError(str(exc)) from None
    logfile.start(echo=True)
    try:
        with pidlock.held(watcher.lock_path(), role="watcher"):
            keeper = watcher.Watcher(root, dirs)
            if has_display():
                from app.gui import tray  # Qt only when there is a screen to show an icon on

                if tray.available():
                    return tray.run(keeper, args.interval)
            return _watch_here(keeper, args.interval)
    except pidlock.Held as exc:
        print(f"A watcher is already keeping sessions repaired (process {exc.owner.get('pid', '?')}).")
        return EXIT_OK


def _watch_here(keeper: watcher.Watcher, interval: float) -> int:
    """No tray: watch in this terminal (or service) until Ctrl+C or SIGTERM."""
    stop = threading.Event()
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    keeper.run(stop, interval)
    return EXIT_OK


def cmd_autostart(args: argparse.Namespace) -> int:
    try:
        if args.action == "enable":
            path = autostart.enable()
            print(f"Session Rescue will keep your sessions repaired from your next logon: {safe(path)}")
            print(f"To start it now: {PROG} watch")
        elif args.action == "disable":
            path = autostart.disable()
            stopped = watcher.stop_running()
            print(f"Removed {safe(path)}." if path else "Autostart was not on.")
            if stopped:
                print(f"Stopped the running watcher (process {stopped}).")
        else:
            state = autostart.status()
            if state.enabled:
                runs = " ".join(state.command) if state.command else "the watcher"
                print(f"Autostart is on: {safe(state.path)} runs {safe(runs)}")
            else:
                print(f"Autostart is off (its entry would be {safe(state.path)}).")
            running = pidlock.owner_of(watcher.lock_path())
            print(f"A watcher is running (process {running['pid']})." if running else "No watcher is running.")
    except OSError as exc:
        print(f"{PROG}: autostart {args.action} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK

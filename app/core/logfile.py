"""The log file: ``session-rescue.log`` in the user's log folder (platformdirs)."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import platformdirs

from app import APP_NAME, __version__
from app.core import display

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _SafeFormatter(logging.Formatter):
    """A formatter whose lines hold no raw control or bidi character: a
    session title or a path read from disk is logged as it is shown, never
    as something that drives the terminal a log is read in."""

    def format(self, record: logging.LogRecord) -> str:
        return display.neutralise(super().format(record), keep_layout=True)


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def start(echo: bool = False) -> Path | None:
    """Log to the file (and, with ``echo``, to the terminal too).  The folder,
    or None when it cannot be written (then the app runs without a log)."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if echo and sys.stdout is not None:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(_SafeFormatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        root.addHandler(console)
    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / "session-rescue.log", maxBytes=1 << 20,
                                                       backupCount=3, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file: %s", exc)
        return None
    handler.setFormatter(_SafeFormatter(FORMAT))
    root.addHandler(handler)
    logging.getLogger(__name__).info("Session Rescue %s started (%s)", __version__, " ".join(sys.argv[1:]) or "window")
    return folder

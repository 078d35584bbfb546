"""The log file: ``session-rescue.log`` in the user's log folder (platformdirs)."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import platformdirs

from app import APP_NAME, __version__

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def start(echo: bool = False) -> Path | None:
    """Log to the file (and, with ``echo``, to the terminal too).  The folder,
    or None when it cannot be written (then the app runs without a log)."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if echo and sys.stdout is not None:
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        root.addHandler(console)
    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(folder / "session-rescue.log", maxBytes=1 << 20,
                                                       backupCount=3, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file: %s", exc)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    logging.getLogger(__name__).info("Session Rescue %s started (%s)", __version__, " ".join(sys.argv[1:]) or "window")
    return folder

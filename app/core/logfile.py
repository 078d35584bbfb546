"""The log file: ``session-rescue.log`` in the user's log folder (platformdirs)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from app import APP_NAME, __version__
from app.core import display

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _SafeFormatter(logging.Formatter):
    """A formatter whose lines hold no raw control or bidi character: a
    session title or a path read from disk is logged as it is shown, never
    as something that drives the terminal a log is read in."""

    def format(self, record: logging.LogRecord) -> str:
        return display.neutralise(super().format(record), keep_layout=True)


class _Held(logging.Handler):
    """What is logged before the log file opens (see hold), kept for it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def log_dir() -> Path:
    import platformdirs  # here: a window opens its log file once it shows its sessions (hold)

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def hold() -> None:
    """Keep what is logged from now on until :func:`start`, which writes it
    to the file first.  The window opens its log file once it shows its
    sessions: the file's modules (logging.handlers, platformdirs) would
    otherwise delay them."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if not any(isinstance(h, _Held) for h in root.handlers):
        root.addHandler(_Held())
        _started()


def start(echo: bool = False) -> Path | None:
    """Log to the file (and, with ``echo``, to the terminal too).  The folder,
    or None when it cannot be written (then the app runs without a log)."""
    import logging.handlers

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    held = [h for h in root.handlers if isinstance(h, _Held)]
    for h in held:
        root.removeHandler(h)
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
    if not held:
        _started()
    for record in (r for h in held for r in h.records):  # in order, each with the time it was logged at
        handler.handle(record)
    return folder


def _started() -> None:
    logging.getLogger(__name__).info("Session Rescue %s started (%s)", __version__, " ".join(sys.argv[1:]) or "window")

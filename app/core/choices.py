"""The choices and defaults a front end offers before any work is loaded:
export formats, resume shells, where backups go and how long they are kept.

Kept apart so that ``session-rescue scan`` can build its command line
without importing the export, backup and repair machinery it does not use
(its start-up is part of every command's time).
"""

from __future__ import annotations

from pathlib import Path

from app import APP_NAME

MARKDOWN, HTML = "md", "html"
FORMATS = (MARKDOWN, HTML)

POSIX, POWERSHELL = "sh", "powershell"
SHELLS = (POSIX, POWERSHELL)

# How long finished backup runs are kept, at the least one day and one run.
DEFAULT_DAYS, DEFAULT_KEEP = 30, 200


def default_backup_root() -> Path:
    """The user's backup folder (the demo data keeps its own: backups.root_for)."""
    import platformdirs  # here, not at the top: no command needs it before it runs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "backups"

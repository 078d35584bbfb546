"""Hand-offs to the desktop around the app."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_path(path: Path) -> None:
    """Show a folder (or a file) in the system's file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

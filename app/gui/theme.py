"""Light and dark, following the operating system's choice.

Qt reports the system's colour scheme (Windows 10/11, macOS, GNOME/KDE); the
Fusion style is then given a matching palette, and it changes live when the
user switches.  Where the system says nothing, the light palette is used.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#1c7ed6")


def _dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#26292e", QPalette.ColorRole.WindowText: "#e8e8e8",
        QPalette.ColorRole.Base: "#1d1f23", QPalette.ColorRole.AlternateBase: "#2a2d33",
        QPalette.ColorRole.ToolTipBase: "#32363d", QPalette.ColorRole.ToolTipText: "#f0f0f0",
        QPalette.ColorRole.Text: "#e8e8e8", QPalette.ColorRole.Button: "#30343a",
        QPalette.ColorRole.ButtonText: "#e8e8e8", QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Link: "#74b9ff", QPalette.ColorRole.Highlight: "#2f6fb3",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#8a8f98",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7d828a"))
    return p


def _light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    return p


def scheme() -> Qt.ColorScheme:
    return QGuiApplication.styleHints().colorScheme()


def apply(app: QApplication, forced: str | None = None) -> None:
    """Style the app for the system's scheme (or ``forced``: "dark"/"light"),
    and follow later changes of the system's scheme."""
    app.setStyle("Fusion")
    dark = forced == "dark" or (forced is None and scheme() == Qt.ColorScheme.Dark)
    app.setPalette(_dark_palette() if dark else _light_palette())
    if forced is None and not app.property("session_rescue_theme_hooked"):
        app.setProperty("session_rescue_theme_hooked", True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply(app))

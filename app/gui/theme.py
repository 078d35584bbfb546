"""Light and dark, following the operating system's choice.

Qt reports the system's colour scheme (Windows 10/11, macOS, GNOME/KDE); the
Fusion style is then given a matching palette, and it changes live when the
user switches.  Where the system says nothing, the light palette is used.

The window's application is made in the Fusion style (application()), and
the light palette is made here: set later with QApplication.setStyle, or
asked of the style (QStyle.standardPalette), the style object would come to
Python, and PySide would first make the QStyle class and its 600 enum
members, some 7 ms of the window's start.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#1c7ed6")
_FUSION_FROM_THE_START = "session_rescue_fusion_from_the_start"  # an application property


def application(argv: list[str]) -> QApplication:
    """A new application in the Fusion style, chosen by Qt's own command-line
    option (-style), which apply() then does not set again."""
    app = QApplication([*argv, "-style", "Fusion"])
    app.setProperty(_FUSION_FROM_THE_START, True)
    return app


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


def fusion_light_palette() -> QPalette:
    """Fusion's own light palette, colour for colour what its style gives
    (QStyle.standardPalette(): Qt's qt_fusionPalette), made without the style
    (see the module's doc).  tests/test_gui.py holds the two to be equal."""
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    window, black, white = QColor(239, 239, 239), QColor(Qt.GlobalColor.black), QColor(Qt.GlobalColor.white)
    mid, dark = window.darker(130), window.darker(150)
    shadow, highlight, grey_highlight = dark.darker(135), QColor(48, 140, 198), QColor(145, 145, 145)
    p = QPalette(black, window, window.lighter(150), dark, mid, black, white)
    for name, colour in ((role.Midlight, mid.lighter(110)), (role.Button, window), (role.Shadow, shadow),
                         (role.HighlightedText, white), (role.PlaceholderText, QColor(0, 0, 0, 128))):
        p.setColor(name, colour)
    grey_text = QColor(190, 190, 190)
    for name, colour in ((role.Text, grey_text), (role.WindowText, grey_text), (role.ButtonText, grey_text),
                         (role.Base, window), (role.Dark, QColor(209, 209, 209).darker(110)),
                         (role.Shadow, shadow.lighter(150)), (role.Highlight, grey_highlight),
                         (role.Accent, grey_highlight)):
        p.setColor(group.Disabled, name, colour)
    for shown in (group.Active, group.Inactive):
        p.setColor(shown, role.Highlight, highlight)
        p.setColor(shown, role.Accent, highlight)
    return p


def _light_palette() -> QPalette:
    p = fusion_light_palette()
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    return p


def scheme() -> Qt.ColorScheme:
    return QGuiApplication.styleHints().colorScheme()


def apply(app: QApplication, forced: str | None = None) -> None:
    """Style the app for the system's scheme (or ``forced``: "dark"/"light"),
    and follow later changes of the system's scheme."""
    if not app.property(_FUSION_FROM_THE_START):
        app.setStyle("Fusion")
    dark = forced == "dark" or (forced is None and scheme() == Qt.ColorScheme.Dark)
    app.setPalette(_dark_palette() if dark else _light_palette())
    if forced is None and not app.property("session_rescue_theme_hooked"):
        app.setProperty("session_rescue_theme_hooked", True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: apply(app))

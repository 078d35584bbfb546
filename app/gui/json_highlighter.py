"""Colours for JSON text: keys, strings, numbers, and true/false/null."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QPalette, QSyntaxHighlighter, QTextCharFormat, QTextDocument

# One pass per line: a string followed by a colon is a key.
_TOKENS = re.compile(r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))|(?P<string>"(?:[^"\\]|\\.)*")'
                     r"|(?P<number>-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|(?P<literal>\b(?:true|false|null)\b)")

_LIGHT = {"key": "#0b5394", "string": "#1e7b34", "number": "#a0522d", "literal": "#8e24aa"}
_DARK = {"key": "#7cb8ff", "string": "#8fd694", "number": "#f0a86a", "literal": "#d59cf5"}


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class JsonHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, palette: QPalette):
        super().__init__(document)
        colours = _DARK if is_dark(palette) else _LIGHT
        self._formats = {}
        for name, colour in colours.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if name == "key":
                fmt.setFontWeight(600)
            self._formats[name] = fmt

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt's name
        for match in _TOKENS.finditer(text):
            kind = match.lastgroup
            if kind:
                self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])

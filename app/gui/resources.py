"""Files the window loads at run time: the icons in the repository's
``resources/`` folder.  Run from the source tree, and in the PyInstaller
bundle (build_exe.spec puts them there), they sit beside the app package; an
installed copy has them as the package ``app.resources``."""

from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtGui import QIcon

_BESIDE = Path(__file__).resolve().parents[2] / "resources"


@functools.cache
def _root() -> Path:
    if (_BESIDE / "icons").is_dir():  # a checkout, or the bundle: no package to look for
        return _BESIDE
    from importlib import resources as importlib_resources  # here: only an installed copy needs it

    return Path(str(importlib_resources.files("app.resources")))


def path(*parts: str) -> Path:
    return _root().joinpath(*parts)


@functools.cache
def icon(name: str) -> QIcon:
    """An SVG icon by name: sharp at any size and screen density."""
    return QIcon(str(path("icons", f"{name}.svg")))

"""Files the window loads at run time: the icons in the repository's
``resources/`` folder.  An installed copy (or the PyInstaller bundle) has them
as the package ``app.resources``; run from the source tree, they are read from
the folder itself."""

from __future__ import annotations

import functools
from importlib import resources as importlib_resources
from pathlib import Path

from PySide6.QtGui import QIcon

_SOURCE_TREE = Path(__file__).resolve().parents[2] / "resources"


@functools.cache
def _root() -> Path:
    try:
        return Path(str(importlib_resources.files("app.resources")))
    except ModuleNotFoundError:  # running from a checkout: app/ and resources/ side by side
        return _SOURCE_TREE


def path(*parts: str) -> Path:
    return _root().joinpath(*parts)


@functools.cache
def icon(name: str) -> QIcon:
    """An SVG icon by name: sharp at any size and screen density."""
    return QIcon(str(path("icons", f"{name}.svg")))

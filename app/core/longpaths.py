"""Paths past Windows' MAX_PATH (260 characters).

Relocated MSIX storage puts session files at paths like
``D:\\WpSystem\\S-1-5-21-…-1001\\AppData\\Local\\Packages\\Claude_pzs8sxrjxfjjc\\
LocalCache\\Roaming\\Claude\\claude-code-sessions\\<account>\\<org>\\local_<id>.json.tmp``,
which is longer than 260 characters.  Unless the machine has long paths
enabled, Windows refuses such a path, but it accepts the same path written in
its extended form, ``\\\\?\\D:\\…`` (``\\\\?\\UNC\\server\\share\\…`` for a network
share).  The extended form skips Windows' own clean-up of the path, so we
normalise it first.

Only long paths are rewritten, and only on Windows: a short path is used
exactly as given.  What a person sees is always the plain form.
"""

from __future__ import annotations

import ntpath
import os

# Leave room under 260 for a file name that a caller appends to a folder.
LONG = 200
_EXTENDED = "\\\\?\\"
_EXTENDED_UNC = "\\\\?\\UNC\\"


def to_extended(path: str) -> str:
    """The ``\\\\?\\`` form of an absolute Windows path (pure: testable anywhere)."""
    if path.startswith((_EXTENDED, "\\\\.\\")):
        return path
    path = ntpath.normpath(path)
    if path.startswith("\\\\"):
        return _EXTENDED_UNC + path[2:]
    return _EXTENDED + path


def plain(path: str) -> str:
    """The form a person reads: without the ``\\\\?\\`` prefix."""
    if path.startswith(_EXTENDED_UNC):
        return "\\\\" + path[len(_EXTENDED_UNC):]
    if path.startswith(_EXTENDED):
        return path[len(_EXTENDED):]
    return path


def extended(path: str | os.PathLike[str]) -> str:
    """The path to hand to the OS: extended on Windows when it is long."""
    text = os.fspath(path)
    if os.name != "nt" or len(text) < LONG:
        return text
    return to_extended(os.path.abspath(text))

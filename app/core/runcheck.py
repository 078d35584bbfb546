"""A backup run is data, not instructions: check it before acting on it.

Undo and recovery put files back from a run's folder, guided by its
``manifest.json``.  That file sits in a folder the user (or anything running
as the user) can write, so it can be edited or planted.  Before any run is
acted on, this module checks that:

* it is one of ours: the folder is named like a run id, the manifest carries
  our format marker and that same id, and its seal (seal.py) proves that
  Session Rescue made it on this computer and nobody edited it since;
* its manifest has the shape we write (types, hashes, sizes), and is not huge;
* every path it would change is a file of a Claude session, named
  absolutely, with no ``..``: a record ``local_<id>.json[.tmp]`` in a
  ``claude-code-sessions/<account>/<org>`` folder, or a transcript
  ``<projects>/<folder>/<uuid>.jsonl`` or a file of its sidecar folder
  ``<projects>/<folder>/<uuid>/…``, inside the projects folder the run names
  (sealed with it), and each folder it made inside that folder too;
* every backup it would restore from is a plain file inside the run's own
  ``files/`` folder.

Whether a backup still holds the bytes the manifest promises is checked
where it matters, when a file is about to be restored (see undo.py): a run
killed before it backed up a session rightly has no backup for it.

A run that fails any check is *damaged*: it is reported, kept, and never
acted on.
"""

from __future__ import annotations

import functools
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from app.core import fsops, seal
from app.core.kinds import KINDS

FORMATS = (1, 2)  # 1: runs made before run locks; 2: each run holds run.lock for its life
TOOL_MARK = "session-rescue "
MANIFEST_LIMIT = 128 << 20  # bytes; some 180,000 sessions' worth
SESSIONS_FOLDER = "claude-code-sessions"

# Run ids: 20261126-081018.412-ab12 (and, before milliseconds, 20261126-081018-ab12cd).
RUN_ID = re.compile(r"^\d{8}-\d{6}(?:\.\d{3})?-[0-9a-f]{4,6}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RECORD_NAME = re.compile(r"^local_[^\\/\x00]+\.json(?:\.tmp)?$")
_BACKUP_REF = re.compile(r"^files/([^\\/\x00]+)$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Damaged(Exception):
    """This run cannot be trusted; the message says why, in one sentence."""


@dataclass(frozen=True)
class Snapshot:
    """What a file held: enough to recognise it and to put it back."""

    sha256: str
    size: int
    mtime_ns: int = 0
    mode: int = 0o644

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "mtime_ns": self.mtime_ns, "mode": self.mode}


@dataclass(frozen=True)
class Change:
    """One file a run changed: what it held before and after (None: absent),
    and where its backup is (relative to the run folder)."""

    path: str
    before: Snapshot | None
    after: Snapshot | None
    backup: str | None


@dataclass(frozen=True)
class Entry:
    """One session's part of a run."""

    id: str
    action: str
    title: str | None
    files: tuple[Change, ...]
    made_dirs: tuple[str, ...] = ()  # folders it made for new transcript files, outermost first


@dataclass(frozen=True)
class Manifest:
    format: int
    run_id: str
    kind: str
    created: str
    actions: tuple[Entry, ...]
    projects_root: str | None = None  # the transcripts folder it may change files in


def is_run_name(name: str) -> bool:
    return bool(RUN_ID.match(name))


# ------------------------------------------------------------------ shapes


def _need(condition: bool, why: str) -> None:
    if not condition:
        raise Damaged(why)


def _int(value: object, what: str, low: int = 0) -> int:
    _need(isinstance(value, int) and not isinstance(value, bool) and value >= low, f"{what} is not a number")
    assert isinstance(value, int)
    return value


def _str(value: object, what: str, limit: int = 4096) -> str:
    _need(isinstance(value, str) and len(value) <= limit, f"{what} is not a text")
    assert isinstance(value, str)
    return value


def _snapshot(value: object, what: str) -> Snapshot | None:
    if value is None:
        return None
    _need(isinstance(value, dict), f"{what} is not a file description")
    assert isinstance(value, dict)
    sha = _str(value.get("sha256"), f"{what}'s hash")
    _need(bool(_SHA256.match(sha)), f"{what}'s hash is not a SHA-256")
    return Snapshot(sha, _int(value.get("size"), f"{what}'s size"),
                    _int(value.get("mtime_ns", 0), f"{what}'s time", low=-(1 << 62)),
                    _int(value.get("mode", 0o644), f"{what}'s mode") & 0o7777)


def _change(value: object, projects_root: str | None) -> Change:
    _need(isinstance(value, dict), "a file entry is not an object")
    assert isinstance(value, dict)
    path = _str(value.get("path"), "a file's path")
    problem = target_problem(path, projects_root)
    _need(problem is None, f"it names {path!r}, which {problem}")
    before, after = _snapshot(value.get("before"), "a file's before"), _snapshot(value.get("after"), "a file's after")
    _need(before is not None or after is not None, f"it says {path} was neither there before nor after")
    backup = value.get("backup")
    if before is None:
        _need(backup is None, f"it names a backup for {path}, which did not exist before")
    else:
        ref = _str(backup, f"the backup of {path}")
        match = _BACKUP_REF.match(ref)
        _need(match is not None and match.group(1) not in (".", ".."),
              f"the backup of {path} ({ref!r}) is not inside the run's own files/ folder")
    return Change(path, before, after, backup if isinstance(backup, str) else None)


def _entry(value: object, projects_root: str | None) -> Entry:
    _need(isinstance(value, dict), "an action is not an object")
    assert isinstance(value, dict)
    files = value.get("files")
    _need(isinstance(files, list) and bool(files), "an action lists no files")
    assert isinstance(files, list)
    made = value.get("made_dirs", [])
    _need(isinstance(made, list), "an action's made folders are not a list")
    assert isinstance(made, list)
    for folder in made:
        _need(isinstance(folder, str) and projects_root is not None and os.path.isabs(folder)
              and os.path.normpath(folder) == folder and _inside(folder, projects_root) and folder != projects_root,
              f"it names {folder!r} as a folder it made outside the projects folder")
    title = value.get("title")
    return Entry(_str(value.get("id"), "an action's id", 512), _str(value.get("action"), "an action's name", 64),
                 title if isinstance(title, str) else None, tuple(_change(f, projects_root) for f in files),
                 tuple(made))


def parse(raw: bytes, run_id: str, sealed: str | None) -> Manifest:
    """The manifest of the run ``run_id`` from its bytes and its seal, or Damaged."""
    _need(len(raw) <= MANIFEST_LIMIT, f"its manifest is too large ({len(raw):,} bytes)")
    _need(sealed is not None and seal.verify(raw, sealed),
          "its manifest carries no valid seal: it was not made by Session Rescue on this computer, or it was "
          "edited since")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise Damaged("its manifest is not valid JSON (cut short, or edited)") from None
    _need(isinstance(value, dict), "its manifest is not a JSON object")
    assert isinstance(value, dict)
    _need(value.get("format") in FORMATS and str(value.get("tool", "")).startswith(TOOL_MARK),
          "its manifest was not written by Session Rescue")
    _need(value.get("run_id") == run_id, "its manifest names another run")
    kind = _str(value.get("kind", "repair"), "its kind", 32)
    _need(kind in KINDS, f"its kind {kind!r} is unknown")
    actions = value.get("actions")
    _need(isinstance(actions, list), "its manifest lists no actions")
    assert isinstance(actions, list)
    created = value.get("created")
    root = value.get("projects_root")
    _need(root is None or (isinstance(root, str) and os.path.isabs(root) and os.path.normpath(root) == root),
          "its projects folder is not a plain absolute path")
    return Manifest(int(value["format"]), run_id, kind, created if isinstance(created, str) else "",
                    tuple(_entry(a, root) for a in actions), root)


# ------------------------------------------------------------------- paths


def target_problem(path: str, projects_root: str | None = None) -> str | None:
    """Why a run may not change ``path``; None when it is a session file a
    run may change.  Judged from the name alone (see :func:`folder_problem`
    for what the disk says)."""
    try:
        os.fsencode(path)  # a name the file system cannot hold (a lone surrogate) names nothing
    except (UnicodeError, ValueError):
        return "is not a name a file can have"
    if "\x00" in path or not os.path.isabs(path):
        return "is not an absolute path"
    if os.path.normpath(path) != path:
        return "is not a plain path (it holds '..', '.' or doubled separators)"
    folder, name = os.path.split(path)
    if _RECORD_NAME.match(name) and _is_org_folder(folder):
        return None
    if projects_root is not None and _transcript_file(path, projects_root):
        return None
    return ("is neither a Claude session record in a claude-code-sessions/<account>/<org> folder nor a "
            "transcript in the projects folder")


@functools.lru_cache(maxsize=256)
def _is_org_folder(folder: str) -> bool:
    """Is ``folder`` named like a ``claude-code-sessions/<account>/<org>``
    folder?  Asked for every record of a run, and a run's thousands of
    records share a few folders: each is taken apart once."""
    parts = PurePath(folder).parts
    return len(parts) >= 4 and parts[-3] == SESSIONS_FOLDER


def is_transcript_path(path: str, root: str) -> bool:
    """Is ``path`` a transcript (or a file of its folder) in the projects folder ``root``?"""
    return _transcript_file(path, root)


def entry(value: object, projects_root: str | None) -> Entry:
    """One action of a manifest, checked as every run's are (Damaged if not)."""
    return _entry(value, projects_root)


def _transcript_file(path: str, root: str) -> bool:
    """``<root>/<folder>/<uuid>.jsonl``, or a file below ``<root>/<folder>/<uuid>/``."""
    if not _inside(path, root):
        return False
    rel = PurePath(path).relative_to(root).parts
    if len(rel) == 2:
        return rel[1].endswith(".jsonl") and bool(UUID.match(rel[1][:-6]))
    return len(rel) >= 3 and bool(UUID.match(rel[1]))


def is_inside(path: str, root: str) -> bool:
    return _inside(path, root)


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # another drive
        return False


def chain_problem(path: str, projects_root: str) -> str | None:
    """Why a transcript may not be written at ``path`` now: every folder
    from the projects folder down to its own, as far as they exist, must be
    a folder of its own, never a link or a junction that would carry the
    file somewhere else.  (The projects folder itself may be a link: that is
    where the user put it.)"""
    if not _inside(path, projects_root) or path == projects_root:
        return f"{path} is not inside the projects folder {projects_root}"
    folder = projects_root
    for part in PurePath(os.path.dirname(path)).relative_to(projects_root).parts:
        folder = os.path.join(folder, part)
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            return None  # made by the run, one level at a time, and checked again then
        except OSError as exc:
            return f"{folder} cannot be checked ({exc.strerror or exc})"
        if fsops.is_link(st) or not stat.S_ISDIR(st.st_mode):
            return f"{folder} is a link or not a folder; nothing is written through it"
    return None


def folder_problem(path: str, projects_root: str | None = None) -> str | None:
    """Why the folder of ``path``, as it really is on disk (links resolved),
    is not one a run may change files in; None when it is (or is gone: then
    nothing is restored there)."""
    folder = os.path.dirname(path)
    real = os.path.realpath(folder)
    parts = PurePath(real).parts
    if len(parts) >= 4 and parts[-3] == SESSIONS_FOLDER:
        return None
    if projects_root is not None and _inside(real, os.path.realpath(projects_root)):
        return None
    return f"its folder {folder} leads to {real}, which is not a Claude session folder"


def backup_path(run_path: Path, change: Change) -> Path | None:
    """Where ``change``'s backup is, if it is a plain file inside the run's
    ``files/`` folder (never through a link)."""
    if change.backup is None:
        return None
    files = run_path / "files"
    try:
        if not stat.S_ISDIR(os.lstat(files).st_mode):
            return None
        st = os.lstat(run_path / change.backup)
    except OSError:
        return None
    return run_path / change.backup if stat.S_ISREG(st.st_mode) else None

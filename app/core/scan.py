"""Classify every session in a Claude Desktop data folder.  Read-only.

Each ``claude-code-sessions/<account>/<org>/`` folder holds, per session, up to
three things: the record ``local_<id>.json``, the unsaved copy
``local_<id>.json.tmp`` that a failed rename left behind, and the tombstones
``deleted_<id>`` / ``deleted_<cliSessionId>`` of a session deleted in the app.
The scanner groups them into one :class:`Session` with a status:

* healthy  - the ``.json`` loads and no ``.tmp`` holds newer data;
* orphaned - a loadable ``.tmp`` holds data the ``.json`` lacks;
* corrupt  - no loadable copy exists (or the only one belongs to a deleted
  session, which we never bring back).

Scanning never writes, never follows a link out of the data folder, never
blocks on a special file, and turns every bad file into a reason, not a crash.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from app.core import collector, loader, locations, mainlog, opens, reasons, trust
from app.core import lost_transcripts as lost
from app.core.locations import SESSIONS_FOLDER, DataDir
from app.core.longpaths import extended, plain
from app.core.records import CORRUPT, HEALTHY, ORPHANED, FileState, FolderReport, ScanResult, Session, sort_newest_first
from app.core.transcript_index import TranscriptIndex

JSON_SUFFIX, TMP_SUFFIX, TOMBSTONE_PREFIX = ".json", ".json.tmp", "deleted_"
# O_BINARY: no newline translation on Windows.  O_NONBLOCK: a pipe named like a
# record must not hang the scan.  O_NOFOLLOW: a file swapped for a link after we
# listed it is not followed.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_TEXT_LIMIT = 1000  # a title or cwd longer than this is shown cut


# --------------------------------------------------------------------- files


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normcase(plain(path)), os.path.normcase(plain(root))
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives on Windows
        return False


def _refused(path: str, kind: str, code: str, detail: str, is_link: bool,
             st: os.stat_result | None = None) -> tuple[FileState, None]:
    """A file we could not, or would not, read: its state says why."""
    return FileState(path, kind, st.st_size if st else None, st.st_mtime if st else None, False, (code,), detail,
                     is_link=is_link), None


def read_file_state(entry: os.DirEntry[str], kind: str, stem: str,
                    root_real: str) -> tuple[FileState, dict[str, Any] | None]:
    """Read one record file, safely, and judge it.  Returns its state and the
    record's top-level fields when it parsed as an object."""
    path = plain(entry.path)
    open_path = entry.path  # the extended form, on Windows, when the path is long
    is_link = entry.is_symlink()
    if is_link:
        target = os.path.realpath(open_path)
        try:
            shown = plain(os.readlink(open_path))
        except OSError:
            shown = target
        if not _inside(target, root_real):
            return _refused(path, kind, reasons.LINK_OUTSIDE, f"points to {shown}", True)
        if not os.path.isfile(target):
            return _refused(path, kind, reasons.BROKEN_LINK, f"points to {shown}", True)
        open_path = extended(target)  # a link inside the data folder: the app follows it, so do we
    try:
        fd = os.open(open_path, _OPEN_FLAGS | _NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link after we listed it: never follow it
            return _refused(path, kind, reasons.LINK_OUTSIDE, "became a link while scanning; not followed", True)
        return _refused(path, kind, reasons.UNREADABLE, exc.strerror or str(exc), is_link)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _refused(path, kind, reasons.UNREADABLE, "not a regular file", is_link)
        if st.st_size > loader.MAX_JS_STRING and _js_length(fd) > loader.MAX_JS_STRING:
            return _refused(path, kind, reasons.TOO_LARGE, f"{st.st_size:,} bytes", is_link, st)
        data = _read_all(fd, st.st_size)
    except OSError as exc:
        return _refused(path, kind, reasons.UNREADABLE, exc.strerror or str(exc), is_link)
    finally:
        os.close(fd)
    verdict = loader.check_bytes(data, stem)
    fields = verdict.fields
    last = loader.timestamp_ms(fields.get("lastActivityAt")) if fields else None
    return FileState(path, kind, len(data), st.st_mtime, verdict.loadable, verdict.problems, verdict.detail,
                     last, verdict.error_line, verdict.error_column, verdict.error_offset, is_link), fields


def _js_length(fd: int, limit: int = loader.MAX_JS_STRING) -> int:
    """The length JavaScript would give the file's text (loader.utf16_units),
    counted in chunks so that a huge file is never held in memory.  Counting
    stops once past ``limit``.  Leaves fd at the start."""
    units = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while units <= limit:
        chunk = os.read(fd, 16 << 20)
        if not chunk:
            break
        units += loader.utf16_units(chunk)
    os.lseek(fd, 0, os.SEEK_SET)
    return units


def _read_all(fd: int, expected: int) -> bytes:
    first = os.read(fd, expected + 1)  # one call for an ordinary file
    if len(first) <= expected:
        return first  # a short read of a regular file is its end (we never read past 2 GB)
    parts = [first]
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        parts.append(chunk)
    return b"".join(parts)


# ------------------------------------------------------------------ sessions


def _text(fields: dict[str, Any] | None, name: str) -> str | None:
    value = fields.get(name) if fields else None
    return value[:_TEXT_LIMIT] if isinstance(value, str) else None


def _classify(js: FileState | None, tmp: FileState | None, tombstoned: bool) -> tuple[str, list[str]]:
    codes: list[str] = [reasons.TOMBSTONED] if tombstoned else []
    if js is not None and js.loadable:
        newer = (tmp is not None and tmp.loadable
                 and (tmp.last_activity_ms or 0) > (js.last_activity_ms or 0))
        if newer and not tombstoned:
            assert tmp is not None  # newer says so
            return ORPHANED, [reasons.TMP_NEWER, *js.problems, *tmp.problems]
        codes.extend(js.problems)
        if tmp is not None:
            codes.append(reasons.TMP_LEFTOVER if tmp.loadable else reasons.TMP_UNLOADABLE)
        return HEALTHY, codes
    if tmp is not None and tmp.loadable:
        codes.extend([reasons.TMP_ONLY] if js is None else [reasons.JSON_UNLOADABLE, *js.problems])
        codes.extend(tmp.problems)
        # Deleted in the app: the .tmp is what is left of a session the user
        # removed, never something to bring back.
        return (CORRUPT if tombstoned else ORPHANED), codes
    for f in (js, tmp):
        if f is not None:
            codes.extend(f.problems)
    return CORRUPT, codes


def _group(folder: str) -> tuple[dict[str, dict[str, os.DirEntry[str]]], set[str]]:
    """The folder's session files by session id, and the ids its tombstones name."""
    groups: dict[str, dict[str, os.DirEntry[str]]] = {}
    tombstones: set[str] = set()
    with os.scandir(extended(folder)) as it:
        for entry in it:
            name = entry.name
            if name.startswith(TOMBSTONE_PREFIX):
                tombstones.add(name[len(TOMBSTONE_PREFIX):])
                continue
            if not name.startswith("local_"):
                continue  # scheduled-tasks.json, desktop.ini, git-worktrees.json, ...
            if name.endswith(TMP_SUFFIX):
                stem, kind = name[: -len(TMP_SUFFIX)], "tmp"
            elif name.endswith(JSON_SUFFIX):
                stem, kind = name[: -len(JSON_SUFFIX)], "json"
            else:
                continue
            try:
                if not entry.is_symlink() and not entry.is_file(follow_symlinks=False):
                    continue  # a folder, a pipe or a device is not a session file
            except OSError:
                continue
            groups.setdefault(stem, {})[kind] = entry
    return groups, tombstones


def _session(stem: str, files: dict[str, os.DirEntry[str]], tombstones: set[str], where: tuple[str, str, str],
             root_real: str) -> Session:
    folder, account, org = where
    js, js_fields = read_file_state(files["json"], "json", stem, root_real) if "json" in files else (None, None)
    tmp, tmp_fields = read_file_state(files["tmp"], "tmp", stem, root_real) if "tmp" in files else (None, None)
    tombstoned = stem in tombstones or (bool(tombstones) and bool(
        {_text(js_fields, "cliSessionId"), _text(tmp_fields, "cliSessionId")} & tombstones))
    status, codes = _classify(js, tmp, tombstoned)
    # Describe the copy that is (or should be) in the sidebar; else whichever we could read.
    primary, fields = (tmp, tmp_fields) if status == ORPHANED else (js, js_fields)
    if fields is None and tmp_fields is not None:
        primary, fields = tmp, tmp_fields
    primary = primary or js or tmp
    if fields:
        get = fields.get
        turns, cli_id, title, cwd, model = (get("completedTurns"), get("cliSessionId"), get("title"), get("cwd"),
                                            get("model"))
        # As _text does, written out: this runs once per session.
        cli_id = cli_id[:_TEXT_LIMIT] if type(cli_id) is str else None
        title = title[:_TEXT_LIMIT] if type(title) is str else None
        cwd = cwd[:_TEXT_LIMIT] if type(cwd) is str else None
        model = model[:_TEXT_LIMIT] if type(model) is str else None
        created = loader.timestamp_ms(get("createdAt"))
        unavailable = get("transcriptUnavailable") is True
        ssh = get("sshConfig")
        ssh_host = ssh.get("sshHost") if type(ssh) is dict and type(ssh.get("sshHost")) is str else None
    else:
        turns = cli_id = title = cwd = model = created = ssh_host = None
        unavailable = False
    # Positional: this runs once per session, and keyword calls cost twice as much.
    return Session(stem, status, tuple(dict.fromkeys(codes)) if codes else (), account, org, False, folder, js,
                   tmp, tombstoned, title, cwd, model, created, primary.last_activity_ms if primary else None,
                   turns if type(turns) is int else None, cli_id, None,
                   primary.size if primary else None, unavailable, None, ssh_host, None, None, (), None, status)


Batch = Callable[[list[Session]], None]
BATCH_SIZE = 500


def scan_org_folder(folder: str, account: str, org: str, root_real: str,
                    on_batch: Batch | None = None) -> tuple[list[Session], float, set[str]]:
    """Every session in one ``<account>/<org>`` folder, the newest mtime seen,
    and the ids its tombstones name.  ``on_batch`` gets the sessions a few
    hundred at a time, as they are read."""
    groups, tombstones = _group(folder)
    where = (folder, account, org)
    if on_batch is None:
        sessions = [_session(stem, files, tombstones, where, root_real)
                    for stem, files in groups.items()]
    else:
        sessions, items = [], list(groups.items())
        for start in range(0, len(items), BATCH_SIZE):
            batch = [_session(stem, files, tombstones, where, root_real)
                     for stem, files in items[start:start + BATCH_SIZE]]
            sessions.extend(batch)
            on_batch(batch)
    newest = max((f.mtime for s in sessions for f in (s.json, s.tmp) if f is not None and f.mtime), default=0.0)
    if not sessions:  # an empty folder (all records wiped) is still the account's folder
        with contextlib.suppress(OSError):
            newest = os.stat(extended(folder)).st_mtime
    return sessions, newest, tombstones


def _subfolders(parent: str, root_real: str, warnings: list[str]) -> list[os.DirEntry[str]]:
    out: list[os.DirEntry[str]] = []
    try:
        with os.scandir(extended(parent)) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        warnings.append(f"could not list {parent}: {exc.strerror or exc}")
        return out
    for entry in entries:
        try:
            if not entry.is_dir():
                continue
        except OSError:
            continue
        # realpath, not is_symlink(): it also sees through Windows junctions.
        if not _inside(os.path.realpath(entry.path), root_real):
            warnings.append(f"skipped {plain(entry.path)}: a link pointing outside the data folder")
            continue
        out.append(entry)
    return out


def read_last_account(data_dir: Path) -> str | None:
    """``lastKnownAccountUuid`` from the app's config.json, if it says one."""
    path = data_dir / "config.json"
    try:
        if path.stat().st_size > 16 * 1024 * 1024:
            return None
        raw = path.read_bytes()
        value = json.loads(raw.decode("utf-8-sig", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
    account = value.get("lastKnownAccountUuid") if isinstance(value, dict) else None
    return account if isinstance(account, str) and account else None


def scan_data_dir(data_dir: DataDir, on_batch: Batch | None = None,
                  read_log: bool = True) -> tuple[FolderReport, list[Session]]:
    report = FolderReport(data_dir)
    sessions_root = data_dir.sessions_path
    try:
        if not sessions_root.is_dir():
            report.warnings.append(f"no {SESSIONS_FOLDER} folder in {data_dir.path}")
            return report, []
    except OSError as exc:  # a folder we may not enter
        report.warnings.append(f"could not open {sessions_root}: {exc.strerror or exc}")
        return report, []
    root_real = os.path.realpath(data_dir.path)
    sessions_real = os.path.realpath(sessions_root)
    if not _inside(sessions_real, root_real):
        report.warnings.append(f"skipped {sessions_root}: a link pointing outside the data folder, to "
                               f"{sessions_real}; scan that folder's parent with --data-dir")
        return report, []
    sessions: list[Session] = []
    newest_by_account: dict[str, float] = {}
    orgs: dict[str, dict[str, float]] = {}  # account -> org -> newest mtime
    for account in _subfolders(str(sessions_root), root_real, report.warnings):
        report.accounts.append(account.name)
        newest_by_account.setdefault(account.name, 0.0)
        for org in _subfolders(account.path, root_real, report.warnings):
            try:
                found, newest, tombstones = scan_org_folder(plain(org.path), account.name, org.name, root_real,
                                                            on_batch)
            except OSError as exc:
                report.warnings.append(f"could not list {plain(org.path)}: {exc.strerror or exc}")
                continue
            sessions.extend(found)
            report.tombstones |= tombstones
            orgs.setdefault(account.name, {})[org.name] = newest
            newest_by_account[account.name] = max(newest_by_account[account.name], newest)
    active = read_last_account(data_dir.path)
    if active:
        report.active_account, report.active_source = active, "config.json"
    elif newest_by_account:
        report.active_account = max(newest_by_account, key=lambda a: newest_by_account[a])
        report.active_source = "newest"
    for session in sessions:
        session.active = session.account == report.active_account
    if read_log:
        report.diagnosis = mainlog.diagnose(locations.log_files(data_dir))
    _choose_active_folder(report, orgs.get(report.active_account or "", {}))
    return report, sessions


def _choose_active_folder(report: FolderReport, orgs: dict[str, float]) -> None:
    """The active account's ``<org>`` folder: the one main.log says the app
    last loaded, else the only one, else the most recently written."""
    if not orgs or report.active_account is None:
        return
    loaded = report.diagnosis.loaded_from
    if loaded and loaded[0] == report.active_account and loaded[1] in orgs:
        report.active_org = loaded[1]
    elif len(orgs) == 1:
        report.active_org = next(iter(orgs))
    else:
        report.active_org = max(orgs, key=lambda o: orgs[o])
    report.active_folder = str(report.data_dir.sessions_path / report.active_account / report.active_org)


def scan(data_dirs: Iterable[DataDir], transcripts_dir: Path | None = None,
         on_batch: Batch | None = None, details: bool = True) -> ScanResult:
    """Scan each data folder; sessions come back newest first.  ``on_batch``,
    if given, sees them earlier, a few hundred at a time in the order read
    (their ``active`` flag is set once their data folder is done).

    With ``details`` false, the scan reads the records and nothing else: no
    transcripts without a record (a user may have thousands) and no main.log
    (it can be hundreds of MB).  A repair, and the watcher that runs one each
    time Claude quits, has no use for either."""
    dirs = list(data_dirs)
    index = TranscriptIndex(transcripts_dir, [d.path for d in dirs])
    folders: list[FolderReport] = []
    sessions: list[Session] = []
    with collector.paused():
        for data_dir in dirs:
            report, found = scan_data_dir(data_dir, on_batch, details)
            folders.append(report)
            sessions.extend(found)
        # Looked up once every record is read, not as each is: listing the
        # transcripts takes a third of a second at 100,000, and the window
        # shows the first records without waiting for it.
        for session in sessions:
            session.transcript_path = index.find(session.cli_session_id)
    sort_newest_first(sessions)
    projects = os.path.abspath(transcripts_dir) if transcripts_dir is not None else None
    if not details:
        result = ScanResult(folders, sessions, projects_dir=projects)
        opens.judge(result, index)
        return result
    transcript_only, links = lost.find(index, folders, sessions)
    result = ScanResult(folders, sessions, transcript_only, links, projects_dir=projects)
    host = locations.Host.this_machine()
    # The demo data's folders are nobody's: this user's ~/.claude.json says nothing of them.
    trusted = None if all(d.install_type == "demo" for d in dirs) else trust.load(host)
    opens.judge(result, index, trusted, host.family == "windows")
    return result

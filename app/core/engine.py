"""Move, copy, write and remove files without ever losing a byte.

The engine knows files, not sessions.  It is handed :class:`Item` s and carries
each out, returning one :class:`Result` per item.  The rules, each the fix for
a data-loss bug in a well-known implementation (see engine-requirements.md):

* A move is a rename first, and a copy only when the OS says the two places
  are on different devices (EXDEV, or ERROR_NOT_SAME_DEVICE on Windows).  Any
  other error is reported, never papered over with a copy.
* A copy goes to a temp file beside the target (``.~repair-<uuid>.tmp``,
  created exclusively), is fsync'd, then re-read and checked against the
  source's size and SHA-256 before it takes the target's name.
* A target is never clobbered: a new name is taken with a hard link (which
  fails if the name exists), and an existing target is replaced only when it
  still holds exactly the bytes the caller said it may replace (and has kept).
* The source is deleted last, after the new copy is durable.  If that delete
  fails, both copies stay and the result says so.
* Folders are fsync'd after each change to their entries.
* A source the caller pinned by its SHA-256 must still be that regular file:
  a link, folder, FIFO, socket or device in its place is refused, never
  moved, copied or backed up as if it were the file.  No existing file is
  opened in a way that follows a link or waits on a FIFO.

Every item is re-checked against the disk when it runs, so running the same
items twice is safe: what is already done is reported as already identical.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import hashlib
import os
import stat
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from app.core import fsops
from app.core.longpaths import extended

MOVE, COPY, WRITE, REMOVE = "move", "copy", "write", "remove"
DONE, IDENTICAL, SOURCE_KEPT, FAILED, CANCELLED, PLANNED = (
    "done", "already-identical", "copied-source-kept", "failed", "cancelled", "planned")
TEMP_PREFIX, TEMP_SUFFIX = ".~repair-", ".tmp"
# Files a deferred-sync block holds open, written and verified, before it
# fsyncs them: well under the 256 descriptors macOS gives a process.
MAX_UNSYNCED = 64

# Steps reported to ``on_step``, in order: what a journal records.
COPIED, VERIFIED, PROMOTED, SOURCE_REMOVED, REMOVED = "copied", "verified", "promoted", "source_removed", "removed"


@dataclass(frozen=True)
class Item:
    """One thing to do to one file (or, for a move or copy, one folder).

    ``source_sha256``: the source must still be a regular file holding these
    bytes (it was planned, or backed up, as such); anything else in its place
    fails the item and is left alone.  Without it, a link is moved as a link
    and a folder file by file.  ``target_sha256``: an existing target may be
    replaced, or removed, only while it holds these bytes.  Without it, an
    existing target that differs is a conflict: the item fails, or with
    ``keep_both`` the new file takes the name ``name (1).ext``.
    """

    op: str
    target: str
    source: str | None = None
    data: bytes | None = None
    source_sha256: str | None = None
    target_sha256: str | None = None
    keep_both: bool = False
    # A copy straight to the target's name, created exclusively: only for a
    # new file that nobody reads before its hash is checked (a backup, whose
    # manifest holds its sha256).  It saves the temp file's rename, which on
    # ext4 makes the next file created in that folder wait for the journal.
    direct: bool = False

    def __repr__(self) -> str:  # the data can be large; never print it whole
        return f"Item({self.op}, {self.source!r} -> {self.target!r})"


@dataclass
class Result:
    item: Item
    outcome: str
    detail: str = ""
    sha256: str | None = None
    method: str | None = None  # renamed, copied, written, removed, linked
    target: str | None = None  # where the bytes ended up (differs under keep_both)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in (DONE, IDENTICAL)


class ItemFailed(Exception):
    """This item cannot be done; the message says why.  Nothing was lost."""


Progress = Callable[[int, int, Item], bool]
StepHook = Callable[[Item, str], None]

# Temp files still on disk; removed at exit if an exception got past the
# engine's own clean-up (a KeyboardInterrupt in the middle of a copy).
_live_temps: set[str] = set()


@atexit.register
def _remove_live_temps() -> None:
    for path in list(_live_temps):
        with contextlib.suppress(OSError):
            os.unlink(extended(path))


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def sweep_temps(folder: str) -> list[str]:
    """Remove the engine's own temp files left in ``folder`` by a killed run.
    They only ever hold a copy of a file that still exists (or is backed up)."""
    removed: list[str] = []
    try:
        with os.scandir(extended(folder)) as it:
            names = [e.name for e in it if is_temp_name(e.name) and e.is_file(follow_symlinks=False)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(folder, name)
        try:
            os.unlink(extended(path))
            removed.append(path)
        except OSError:
            pass
    if removed:
        fsops.fsync_dir(folder)
    return removed


@dataclass
class _Decision:
    """What an item will do, as :meth:`Engine._decide` found it."""

    form: str  # remove, write, file, tree, link, case (a case-only rename), moved (already done)
    new_sha: str | None = None  # the bytes the target will hold
    state: str = "absent"  # the target now: absent, replaceable, identical (nothing to do)
    target: str = ""  # where the bytes go (a free name under keep_both)
    read: os.stat_result | None = None  # the fstat of the source whose bytes were hashed
    detail: str = ""
    kept_both: bool = False


class Engine:
    """Carries out items one by one.  ``cancel()`` (from any thread) stops the
    run between items and cuts short a wait on a locked file."""

    def __init__(self, lock_deadline: float = 10.0):
        self.lock_deadline = lock_deadline
        self._on_step: StepHook | None = None  # the hook of the item being carried out
        self._cancelled = threading.Event()
        self._unsynced_dirs: set[str] | None = None  # None: each folder is fsync'd at once
        # Inside deferred_file_syncs(): the direct copies written and verified,
        # open, not yet fsync'd; and those whose fsync failed, with why.
        self._unsynced_files: list[tuple[int, str]] | None = None
        self._sync_failures: dict[str, str] = {}

    @contextlib.contextmanager
    def batched_dir_syncs(self) -> Iterator[None]:
        """Collect folder fsyncs until :meth:`sync_dirs` (or the end of the
        block).  Each fsync of a folder is a journal commit; a caller doing a
        thousand renames in one folder needs one, not a thousand.  The caller
        must call sync_dirs() before it relies on the changes being durable
        (before it changes an original whose backup was just written)."""
        previous, self._unsynced_dirs = self._unsynced_dirs, set()
        try:
            yield
            self.sync_dirs()
        finally:
            self._unsynced_dirs = previous

    def sync_dirs(self) -> None:
        if self._unsynced_dirs:
            for folder in sorted(self._unsynced_dirs):
                fsops.fsync_dir(folder)
            self._unsynced_dirs.clear()

    @contextlib.contextmanager
    def deferred_file_syncs(self) -> Iterator[dict[str, str]]:
        """Within the block, the files that direct copies make (backups) are
        written and verified at once, and fsync'd together when it ends:
        made and fsync'd one by one, each new file waited on the metadata
        writes of the fsync before it, and a batch took markedly longer (see
        README, Performance).  Each is still fsync'd, before the block ends.
        The dict it yields then holds the targets whose fsync failed (each
        removed: a copy that may not be on the disk is none) and why: their
        items did not happen, whatever their results said.  The caller
        changes nothing those copies back up before the block has ended.
        (On Windows a file's times are set by name, so its handle is closed
        at once, as always: there each copy is fsync'd as it is made.)"""
        failed: dict[str, str] = {}
        if os.name == "nt" or self._unsynced_files is not None:
            yield failed
            return
        self._unsynced_files, self._sync_failures = [], failed
        try:
            yield failed
            self._sync_files()
        finally:
            for fd, _ in self._unsynced_files:  # cut short by an exception: closed, never counted as made
                os.close(fd)
            self._unsynced_files, self._sync_failures = None, {}

    def _sync_files(self) -> None:
        """fsync (then close) the files held by deferred_file_syncs()."""
        pending = self._unsynced_files
        assert pending is not None
        while pending:
            fd, path = pending[0]
            try:
                fsops.full_fsync(fd)
            except OSError as exc:
                self._sync_failures[path] = fsops.describe_error(exc, path)
                with contextlib.suppress(OSError):
                    os.unlink(extended(path))
            finally:
                os.close(fd)
                del pending[0]

    def _sync_dir(self, folder: str) -> None:
        if self._unsynced_dirs is None:
            fsops.fsync_dir(folder)
        else:
            self._unsynced_dirs.add(folder)

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self, items: Iterable[Item], progress: Progress | None = None,
            on_step: StepHook | None = None) -> list[Result]:
        """Carry out ``items`` in order.  ``progress(done, total, item)`` is
        called before each; returning False cancels the rest."""
        items = list(items)
        results: list[Result] = []
        for index, item in enumerate(items):
            if progress is not None and progress(index, len(items), item) is False:
                self.cancel()
            if self.cancelled:
                results.extend(Result(rest, CANCELLED, "cancelled before it started") for rest in items[index:])
                break
            results.append(self.apply(item, on_step))
        return results

    def apply(self, item: Item, on_step: StepHook | None = None) -> Result:
        """Carry out one item; a failure is a result, never an exception.
        ``on_step(item, step)`` hears each step as it is made (a journal)."""
        result = Result(item, DONE, target=item.target)
        previous, self._on_step = self._on_step, on_step
        try:
            return self._guarded(result, lambda: self._carry_out(self._decide(item, looking=False), result))
        finally:
            self._on_step = previous

    def preview(self, item: Item) -> Result:
        """What :meth:`apply` would do, found by the very checks it makes
        (:meth:`_decide`), changing nothing: ``planned``,
        ``already-identical``, or ``failed`` and why."""
        result = Result(item, PLANNED, target=item.target)

        def look() -> None:
            decision = self._decide(item, looking=True)
            result.target, result.sha256 = decision.target, decision.new_sha
            if decision.state == "identical":
                result.outcome, result.detail = IDENTICAL, decision.detail

        return self._guarded(result, look)

    def _guarded(self, result: Result, work: Callable[[], None]) -> Result:
        """Run ``work`` for one item; turn what stops it into a failed result."""
        try:
            if os.name == "nt":
                problem = fsops.windows_name_problem(os.path.basename(result.item.target))
                if problem:
                    raise ItemFailed(problem)
            work()
        except ItemFailed as exc:
            result.outcome, result.detail = FAILED, str(exc)
        except OSError as exc:
            result.outcome, result.detail = FAILED, fsops.describe_error(exc)
        return result

    # ------------------------------------------------------------- deciding

    def _decide(self, item: Item, looking: bool) -> _Decision:
        """What ``item`` will do, checked against the disk as it is now; an
        item that must not be done raises ItemFailed, saying why.  Both
        apply() and preview() (``looking``) decide here, so a dry run cannot
        drift from the real one."""
        if item.op == REMOVE:
            return self._decide_remove(item)
        if item.op == WRITE:
            if item.data is None:
                raise ItemFailed("nothing to write")
            read = self._check_source(item, item.source)[2] if item.source is not None else None
            return self._decide_target(item, _Decision("write", fsops.sha256_bytes(item.data), read=read),
                                       _lstat_or_none(item.target))
        if item.op not in (MOVE, COPY):
            raise ItemFailed(f"unknown operation {item.op!r}")
        if item.source is None:
            raise ItemFailed("no source given")
        return self._decide_transfer(item, item.source, looking)

    def _decide_remove(self, item: Item) -> _Decision:
        if item.target_sha256 is None:
            raise ItemFailed("refusing to remove a file without knowing what it must hold")
        state = self._target_state(item, "", item.target)
        if state == "absent":
            return _Decision("remove", state="identical", target=item.target, detail="already gone")
        if state != "replaceable":
            raise ItemFailed(f"{item.target} has changed since it was planned; it was left as it is")
        return _Decision("remove", item.target_sha256, state=state, target=item.target)

    def _decide_transfer(self, item: Item, source: str, looking: bool) -> _Decision:
        try:
            src_st = os.lstat(extended(source))
        except FileNotFoundError:
            if item.op == MOVE and item.source_sha256 and self._target_state(
                    item, item.source_sha256, item.target) == "identical":
                return _Decision("moved", item.source_sha256, state="identical", target=item.target,
                                 detail="already moved")
            raise ItemFailed(f"{source} is missing") from None
        if item.source_sha256 is not None:
            # Planned (or backed up) as a file with these bytes: a link or a
            # folder now in its place is not that file, whatever it holds.
            _require_regular(source, src_st.st_mode)
        dst_st = _lstat_or_none(item.target)  # one look at the target, for both checks below
        self._check_paths(source, item.target, src_st, dst_st)
        if stat.S_ISDIR(src_st.st_mode):
            return _Decision("tree", target=item.target)
        if stat.S_ISLNK(src_st.st_mode):
            if fsops.lexists(item.target):
                raise ItemFailed(f"something is already at {item.target}; it was left as it is")
            return _Decision("link", target=item.target)
        if not stat.S_ISREG(src_st.st_mode):
            raise ItemFailed(f"{source} is not a regular file")
        if item.op == COPY and item.source_sha256 is not None and dst_st is None and not looking:
            # A pinned copy to a new name reads the source once: the copy
            # hashes what it streams and fails unless those are the pinned
            # bytes, before anything takes the target's name (_copy_file).  A
            # hash here would read the same bytes twice.
            return _Decision("file", item.source_sha256, target=item.target)
        _, new_sha, read = self._check_source(item, source, src_st)
        if new_sha is None or read is None:
            try:
                new_sha, _, read = fsops.hash_regular(source)
            except fsops.NotRegularFile as exc:  # it was a file a moment ago
                raise ItemFailed(f"{source} changed while we worked (it is now {exc.kind}); "
                                 "it was left as it is") from None
        if _case_only_rename(source, item.target):
            return _Decision("case", new_sha, target=item.target, read=read)
        return self._decide_target(item, _Decision("file", new_sha, read=read), dst_st)

    def _decide_target(self, item: Item, decision: _Decision, st: os.stat_result | None) -> _Decision:
        """Where the new bytes go, and what is there now (``st``: the
        target's lstat, None when absent): "absent", "replaceable",
        "identical" (already done), or a conflict, which fails the item, or
        (``keep_both``) sends the bytes to a free name."""
        assert decision.new_sha is not None
        state = self._state_of(item, decision.new_sha, item.target, st)
        decision.target = item.target
        if state == "identical":
            decision.detail = "the target already holds these bytes"
        elif state == "conflict":
            if not item.keep_both:
                raise ItemFailed(f"a different file is already at {item.target}; it was left as it is")
            decision.target, state, decision.kept_both = self._free_name(item.target), "absent", True
        decision.state = state
        return decision

    # -------------------------------------------------------------- helpers

    def _step(self, item: Item, state: str) -> None:
        if self._on_step is not None:
            self._on_step(item, state)

    def _retry(self, fn: Callable[[], object], target: str) -> object:
        return fsops.retry_locked(fn, target, self._cancelled, self.lock_deadline)

    def _target_state(self, item: Item, new_sha: str, target: str) -> str:
        """What is at ``target`` now: "absent", "identical" (already holds the
        new bytes), "replaceable" (holds what we may replace) or "conflict"."""
        return self._state_of(item, new_sha, target, _lstat_or_none(target))

    def _state_of(self, item: Item, new_sha: str, target: str, st: os.stat_result | None) -> str:
        """:meth:`_target_state`, given the target's lstat (None: absent)."""
        if st is None:
            return "absent"
        if not stat.S_ISREG(st.st_mode):
            return "conflict"
        try:
            current, _ = fsops.sha256_file(target)
        except fsops.NotRegularFile:
            return "conflict"  # it became a link or a FIFO since the lstat: not a file we may touch
        if current == new_sha:
            return "identical"
        if item.target_sha256 is not None and current == item.target_sha256:
            return "replaceable"
        return "conflict"

    def _free_name(self, target: str) -> str:
        """``name (1).ext``, ``name (2).ext``, ...: the first free one."""
        folder, name = os.path.split(target)
        stem, dot, ext = name.partition(".")
        for n in range(1, 10_000):
            candidate = os.path.join(folder, f"{stem} ({n}){dot}{ext}")
            if not fsops.lexists(candidate):
                return candidate
        raise ItemFailed(f"no free name next to {target}")

    # ------------------------------------------------------------- carrying out

    def _carry_out(self, decision: _Decision, result: Result) -> None:
        """Do what :meth:`_decide` found; the disk is checked again at each
        step that could lose something (the name still holds what was read,
        a replaced target still holds what may be replaced)."""
        item = result.item
        result.sha256, result.target = decision.new_sha, decision.target
        if decision.kept_both:
            result.warnings.append(f"kept both: the new copy is {os.path.basename(decision.target)}")
        if decision.state == "identical":
            result.outcome, result.detail = IDENTICAL, decision.detail
            if item.source is not None and item.op in (MOVE, WRITE) and decision.form != "moved":
                self._remove_source(item, item.source, result, decision.read)
            return
        if decision.form == "remove":
            self._retry(lambda: os.unlink(extended(item.target)), item.target)
            self._sync_dir(os.path.dirname(item.target))
            self._step(item, REMOVED)
            result.method = "removed"
        elif decision.form == "write":
            self._write(item, decision, result)
        elif decision.form == "tree":
            self._transfer_tree(item, result)
        elif decision.form == "link":
            self._transfer_link(item, result)
        elif decision.form == "case":
            assert item.source is not None
            self._case_rename(item.source, item.target)
            result.method = "renamed"
        else:
            self._transfer_file(item, decision, result)

    def _write(self, item: Item, decision: _Decision, result: Result) -> None:
        data = item.data
        assert data is not None and decision.new_sha is not None
        mode = _mode_of(item.source) or _mode_of(item.target) or 0o644

        def fill(fd: int, temp: str) -> None:
            fsops.write_all(fd, data)
            _set_metadata(fd, temp, result.warnings, mode, None)

        temp = self._new_temp(decision.target, fill)
        try:
            self._verify(temp, decision.new_sha, len(data))
            self._step(item, VERIFIED)
            self._promote(temp, decision.target, replace=(decision.state == "replaceable"), item=item,
                          expected=item.target_sha256)
        finally:
            self._discard(temp)
        result.method = "written"
        if item.source is not None:
            self._remove_source(item, item.source, result, decision.read)

    # ------------------------------------------------------------ move/copy

    def _check_source(self, item: Item, source: str, st: os.stat_result | None = None
                      ) -> tuple[os.stat_result, str | None, os.stat_result | None]:
        """The source's lstat (``st``, when the caller has just taken it);
        when the item pins it, also its sha256 and the fstat of the file
        that was hashed (then checked: a source changed since the plan, or no
        longer a regular file, is left alone)."""
        if st is None:
            try:
                st = os.lstat(extended(source))
            except FileNotFoundError:
                raise ItemFailed(f"{source} is missing") from None
        if item.source_sha256 is None:
            return st, None, None
        _require_regular(source, st.st_mode)
        try:
            current, _, read = fsops.hash_regular(source)
        except fsops.NotRegularFile as exc:  # swapped between the lstat and the open
            raise ItemFailed(_not_planned(source, exc.kind)) from None
        if current != item.source_sha256:
            raise ItemFailed(f"{source} has changed since it was planned; it was left as it is")
        return st, current, read

    def _check_paths(self, source: str, target: str, src_st: os.stat_result, dst_st: os.stat_result | None) -> None:
        """Refuse what would destroy the source: the same file under two names
        (a hard link, or a case-only difference), a file onto a folder or a
        folder onto a file, a folder into itself.  ``dst_st``: the target's
        lstat (None: absent)."""
        if dst_st is not None:
            if (dst_st.st_dev, dst_st.st_ino) == (src_st.st_dev, src_st.st_ino):
                if not _case_only_rename(source, target):  # a case-only rename is the one legitimate case
                    raise ItemFailed(f"{source} and {target} are the same file")
            elif stat.S_ISDIR(dst_st.st_mode) != stat.S_ISDIR(src_st.st_mode):
                kinds = ("folder", "file") if stat.S_ISDIR(src_st.st_mode) else ("file", "folder")
                raise ItemFailed(f"cannot put a {kinds[0]} where a {kinds[1]} is: {target}")
        if stat.S_ISDIR(src_st.st_mode):
            src_real = os.path.normcase(os.path.realpath(source))
            dst_real = os.path.normcase(os.path.realpath(target))
            if dst_real == src_real or dst_real.startswith(src_real.rstrip(os.sep) + os.sep):
                raise ItemFailed(f"cannot move {source} into itself")

    def _transfer_file(self, item: Item, decision: _Decision, result: Result) -> None:
        source, target, read = item.source, decision.target, decision.read
        assert source is not None and decision.new_sha is not None
        assert read is not None or item.op == COPY  # a move was hashed when it was decided
        replace = decision.state == "replaceable"
        if item.op == MOVE:
            assert read is not None
            # The hash took a while: the name must still hold what was hashed
            # (a rename moves whatever is there, link or FIFO alike).
            _still_the_same(source, read)
            try:
                self._rename(source, target, replace=replace)
                result.method = "renamed"
                self._step(item, PROMOTED)
                self._step(item, SOURCE_REMOVED)
                return
            except OSError as exc:
                if not fsops.is_cross_device(exc):
                    raise
        self._copy_file(item, source, decision.new_sha, read, target, replace=replace, result=result)
        result.method = "copied"
        if item.op == MOVE:
            self._remove_source(item, source, result, read)

    def _rename(self, source: str, target: str, replace: bool) -> None:
        """Rename ``source`` to ``target``.  A new name is taken without ever
        clobbering (fsops.rename_noreplace); where the file system supports
        neither that nor hard links (FAT, some network shares), an existence
        check guards a plain rename, and the gap between the two is a
        documented race, harmless while Claude is closed."""
        src, dst = extended(source), extended(target)
        if replace:
            self._retry(lambda: os.replace(src, dst), target)
        else:
            try:
                self._retry(lambda: fsops.rename_noreplace(src, dst), target)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
                    raise
                if fsops.lexists(target):
                    raise OSError(errno.EEXIST, "a file appeared at the target", target) from None
                os.rename(src, dst)
        self._sync_dir(os.path.dirname(target))
        if os.path.dirname(source) != os.path.dirname(target):
            self._sync_dir(os.path.dirname(source))

    def _case_rename(self, source: str, target: str) -> None:
        """``Local_X.json`` -> ``local_X.json`` on a case-insensitive disk is one
        file under two spellings: go through a temp name, in two renames."""
        temp = os.path.join(os.path.dirname(target), f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
        self._retry(lambda: os.rename(extended(source), extended(temp)), temp)
        self._retry(lambda: os.rename(extended(temp), extended(target)), target)
        self._sync_dir(os.path.dirname(target))

    def _new_temp(self, target: str, fill: Callable[[int, str], object]) -> str:
        """A fsync'd temp file beside ``target``, filled by ``fill(fd, path)``
        (data and metadata both: nothing touches it after the fsync, which
        would cost the next file's creation a wait on the journal)."""
        temp = os.path.join(os.path.dirname(target), f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
        fd = fsops.create_exclusive(temp)
        _live_temps.add(temp)
        try:
            fill(fd, temp)
            fsops.full_fsync(fd)
        except BaseException:
            os.close(fd)
            self._discard(temp)
            raise
        os.close(fd)
        return temp

    def _discard(self, temp: str) -> None:
        """Remove our temp file if it is still there (it is never the target).
        A promoted temp has left the register: nothing to remove."""
        if temp not in _live_temps:
            return
        try:
            os.unlink(extended(temp))
        except FileNotFoundError:
            pass
        except OSError:
            return  # keep it registered; the exit clean-up tries again
        _live_temps.discard(temp)

    def _verify(self, temp: str, sha: str, size: int) -> None:
        got_sha, got_size = fsops.sha256_file(temp)
        if got_size != size or got_sha != sha:
            raise ItemFailed(f"the copy did not read back identical ({got_size:,} of {size:,} bytes); "
                             "the source was kept")

    def _copy_file(self, item: Item, source: str, sha: str, hashed: os.stat_result | None, target: str,
                   replace: bool, result: Result) -> None:
        """Copy the file whose bytes hash to ``sha``: those hashed from an fd
        whose fstat is ``hashed``, or (None) the pinned bytes, which the
        copy's own read must then stream.  Every check is on the fd actually
        read, never on a second look by name: a swap between the hash and
        the copy, or a change during the copy, fails the item."""
        sizes: list[int] = []

        def fill(fd: int, temp: str) -> None:
            after = _stream_checked(source, fd, sha, hashed)
            sizes.append(after.st_size)  # the copy holds exactly these bytes (checked): its size is theirs
            if item.op != COPY:
                # And the name still holds that file: a move then deletes the
                # file that was copied, not one that took its name meanwhile.
                _still_the_same(source, after)
            # Metadata from a fresh look at the source, set before the fsync so
            # that one flush makes bytes and metadata durable together.  A
            # failure to set it is a warning, never a reason to lose the copy
            # (B1, atomicwrites#42).
            _set_metadata(fd, temp, result.warnings, stat.S_IMODE(after.st_mode),
                          (after.st_atime_ns, after.st_mtime_ns))

        if item.direct and not replace:
            self._copy_direct(item, target, fill, lambda: self._verify(target, sha, sizes[-1]))
            return
        temp = self._new_temp(target, fill)
        try:
            self._step(item, COPIED)
            self._verify(temp, sha, sizes[-1])
            self._step(item, VERIFIED)
            self._promote(temp, target, replace, item, item.target_sha256)
        finally:
            self._discard(temp)

    def _copy_direct(self, item: Item, target: str, fill: Callable[[int, str], object],
                     verify: Callable[[], None]) -> None:
        """Create ``target`` exclusively (it never clobbers), fill, fsync and
        verify it; if any of that fails, the half-made file is ours: removed.
        Inside deferred_file_syncs() the fsync is made when the block ends."""
        pending = self._unsynced_files
        fd = fsops.create_exclusive(target)
        try:
            try:
                fill(fd, target)
                if pending is None:
                    fsops.full_fsync(fd)
            finally:
                if pending is None:
                    os.close(fd)
            self._step(item, COPIED)
            verify()
        except BaseException:
            if pending is not None:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(extended(target))
            raise
        if pending is not None:
            pending.append((fd, target))
            if len(pending) >= _files_we_may_hold():
                self._sync_files()
        self._sync_dir(os.path.dirname(target))
        self._step(item, VERIFIED)
        self._step(item, PROMOTED)

    def _promote(self, temp: str, target: str, replace: bool, item: Item, expected: str | None) -> None:
        """Give the verified temp file the target's name, never clobbering
        anything but the bytes the caller allowed us to replace."""
        if replace:
            try:
                current: str | None = fsops.sha256_file(target)[0]
            except fsops.NotRegularFile:  # a link or a FIFO took its place: never replaced, never waited on
                current = None
            if current != expected:
                raise ItemFailed(f"{target} changed while we worked; it was left as it is")
            self._retry(lambda: os.replace(extended(temp), extended(target)), target)
            self._sync_dir(os.path.dirname(target))
        else:
            self._rename(temp, target, replace=False)  # fsyncs the folder itself
        _live_temps.discard(temp)
        self._step(item, PROMOTED)

    def _remove_source(self, item: Item, source: str, result: Result, read: os.stat_result | None = None) -> None:
        """Delete the source, last, if it is still what was copied (``read``:
        the fstat of the file whose bytes went to the target).  If that
        fails, both copies stay."""
        try:
            self._check_source(item, source)
            if read is not None:
                _still_the_same(source, read)
            self._retry(lambda: os.unlink(extended(source)), source)
            self._sync_dir(os.path.dirname(source))
        except (OSError, ItemFailed) as exc:
            why = str(exc) if isinstance(exc, ItemFailed) else fsops.describe_error(exc, source)
            if result.outcome in (DONE, IDENTICAL):
                result.outcome = SOURCE_KEPT
            result.detail = f"the copy is in place, but the source could not be removed ({why}); both are kept"
            return
        self._step(item, SOURCE_REMOVED)

    def _transfer_link(self, item: Item, result: Result) -> None:
        """A link is moved or copied as a link: never followed (B1)."""
        source = item.source
        assert source is not None
        if fsops.lexists(item.target):
            raise ItemFailed(f"something is already at {item.target}; it was left as it is")
        if item.op == MOVE:
            try:
                self._rename(source, item.target, replace=False)
                result.method = "renamed"
                return
            except OSError as exc:
                if not fsops.is_cross_device(exc):
                    raise
        pointing_to = os.readlink(extended(source))
        try:
            os.symlink(pointing_to, extended(item.target))
        except OSError as exc:
            if getattr(exc, "winerror", None) == fsops.WIN_PRIVILEGE_NOT_HELD:
                raise ItemFailed("Windows lets only administrators (or Developer Mode) create links") from None
            raise
        self._sync_dir(os.path.dirname(item.target))
        result.method = "linked"
        if item.op == MOVE:
            self._remove_source(item, source, result)

    def _transfer_tree(self, item: Item, result: Result) -> None:
        """A folder is moved file by file, each verified; emptied folders are
        then removed one by one with rmdir, never rmtree (B1, fs-extra#108)."""
        source = item.source
        assert source is not None
        if item.op == MOVE:
            try:
                if not fsops.lexists(item.target):
                    self._retry(lambda: os.rename(extended(source), extended(item.target)), item.target)
                    self._sync_dir(os.path.dirname(item.target))
                    result.method = "renamed"
                    return
            except OSError as exc:
                if not fsops.is_cross_device(exc):
                    raise
        failures: list[str] = []
        folders: list[str] = []
        for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
            rel = os.path.relpath(dirpath, source)
            out_dir = item.target if rel == "." else os.path.join(item.target, rel)
            os.makedirs(extended(out_dir), exist_ok=True)
            folders.append(dirpath)
            # Links to folders show up among dirnames; they move as links.
            for name in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))] + filenames:
                sub = Item(item.op, os.path.join(out_dir, name), source=os.path.join(dirpath, name))
                sub_result = self.apply(sub, self._on_step)
                if sub_result.outcome not in (DONE, IDENTICAL):
                    failures.append(f"{sub.source}: {sub_result.detail}")
        if failures:
            result.outcome = FAILED if item.op == COPY else SOURCE_KEPT
            result.detail = (f"{len(failures)} file{'s' * (len(failures) != 1)} not moved, kept in place: "
                             + "; ".join(failures[:3]))
        elif item.op == MOVE:
            for folder in reversed(folders):  # deepest first
                try:
                    os.rmdir(extended(folder))
                except OSError as exc:
                    result.warnings.append(f"could not remove the emptied folder {folder}: {exc.strerror}")
            self._sync_dir(os.path.dirname(source))
        result.method = result.method or "copied"


def _lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.lstat(extended(path))
    except FileNotFoundError:
        return None


def _not_planned(source: str, kind: str) -> str:
    return f"{source} is no longer the file that was planned (it is now {kind}); it was left as it is"


def _require_regular(source: str, mode: int) -> None:
    """A pinned source must be a regular file: anything else is not the file
    whose bytes were planned (or backed up), even a link to the same bytes."""
    if not stat.S_ISREG(mode):
        raise ItemFailed(_not_planned(source, fsops.kind_of(mode)))


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """Which file, and which version of it: two fstats of the same unchanged
    file agree on all four."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _still_the_same(source: str, read: os.stat_result) -> None:
    """The name ``source`` still holds the regular file ``read`` (an fstat),
    unchanged.  Compared by size and mtime everywhere, and by device and
    inode where lstat and fstat number files alike (not Windows, whose two
    calls may report a file's id in different widths)."""
    try:
        now = os.lstat(extended(source))
    except FileNotFoundError:
        raise ItemFailed(f"{source} disappeared while we worked") from None
    _require_regular(source, now.st_mode)
    same = (now.st_size, now.st_mtime_ns) == (read.st_size, read.st_mtime_ns)
    if os.name != "nt":
        same = same and (now.st_dev, now.st_ino) == (read.st_dev, read.st_ino)
    if not same:
        raise ItemFailed(f"{source} changed while we worked; it was left as it is")


def _stream_checked(source: str, fd: int, sha: str, hashed: os.stat_result | None) -> os.stat_result:
    """Stream the regular file at ``source`` into ``fd``, hashing as it goes,
    and return the fstat of the file read.  It must be the file whose fstat
    is ``hashed`` (when given), unchanged while it was read, and hold the
    bytes ``sha``; anything else fails the item."""
    try:
        src_fd, before = fsops.open_regular(source)
    except fsops.NotRegularFile as exc:
        raise ItemFailed(f"{source} changed before it could be copied (it is now {exc.kind}); "
                         "it was left as it is") from None
    try:
        if hashed is not None and _identity(before) != _identity(hashed):
            raise ItemFailed(f"{source} was replaced by another file before it could be copied; "
                             "it was left as it is")
        streamed_sha, streamed_size = _stream(src_fd, fd)
        after = os.fstat(src_fd)
    finally:
        os.close(src_fd)
    if _identity(after) != _identity(before) or streamed_size != before.st_size:
        raise ItemFailed(f"{source} changed while it was being copied; it was left as it is")
    if streamed_sha != sha:
        if hashed is None:  # one read, of an unchanging file: it is not the one planned
            raise ItemFailed(f"{source} has changed since it was planned; it was left as it is")
        raise ItemFailed(f"{source} changed while it was being copied; it was left as it is")
    return after


def _stream(src_fd: int, dst_fd: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := os.read(src_fd, fsops.CHUNK):
        digest.update(chunk)
        fsops.write_all(dst_fd, chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _mode_of(path: str | None) -> int | None:
    if path is None:
        return None
    try:
        return stat.S_IMODE(os.stat(extended(path)).st_mode)
    except OSError:
        return None


def _case_only_rename(source: str, target: str) -> bool:
    if source == target or source.lower() != target.lower():
        return False
    try:
        return os.path.samefile(extended(source), extended(target))
    except OSError:
        return False


def _set_metadata(fd: int, path: str, warnings: list[str], mode: int, times_ns: tuple[int, int] | None) -> None:
    """Mode (never the 0600 a temp file is born with) and times, on the open
    file where the OS allows it, else by name (Windows)."""
    if hasattr(os, "fchmod"):
        _quietly(warnings, "keep the file's permissions", os.fchmod, fd, mode)
    else:
        _quietly(warnings, "keep the file's permissions", os.chmod, extended(path), mode)
    if times_ns is not None:
        target = fd if os.utime in os.supports_fd else extended(path)
        _quietly(warnings, "keep the file's times", os.utime, target, ns=times_ns)


def _quietly(warnings: list[str], what: str, fn: Callable[..., object], *args: object, **kwargs: object) -> None:
    try:
        fn(*args, **kwargs)
    except OSError as exc:
        warnings.append(f"could not {what}: {exc.strerror or exc}")


@functools.cache
def _files_we_may_hold() -> int:
    """How many backups a deferred-sync block keeps open at once: MAX_UNSYNCED,
    or a quarter of the process's limit on open files if that is lower (a
    user's ``ulimit -n`` can be small, and the rest of the program needs
    descriptors too: each "too many open files" would fail a session)."""
    try:
        import resource  # POSIX only, as deferred syncs are
    except ImportError:
        return MAX_UNSYNCED
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_UNSYNCED
    return max(1, min(MAX_UNSYNCED, soft // 4))

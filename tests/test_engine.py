"""The copy-fallback engine never loses a byte: not across devices, not when
the disk fails mid-copy, not when a target is in the way.

Cross-device moves are real: /dev/shm is its own tmpfs, so a rename from
there onto pytest's tmp_path fails with a real EXDEV.  Disk faults (ENOSPC,
EIO, a short write) cannot be caused on demand, so they are injected into
os.write/os.fsync, for our temp files only.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from app.core import engine, fsops

from conftest import needs_symlinks

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc/self/fd to aim the faults")


@pytest.fixture
def other_device(tmp_path):
    """A folder on another device than tmp_path: a rename between them is EXDEV."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    path = Path("/dev/shm") / f"session-rescue-test-{uuid.uuid4().hex}"
    path.mkdir()
    if os.stat(path).st_dev == os.stat(tmp_path).st_dev:
        shutil.rmtree(path)
        pytest.skip("/dev/shm is on the same device as the test folder here")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def put(path: Path, data: bytes, mode: int = 0o640, mtime_ns: int = 1_700_000_000_123_456_789) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def no_temps(*folders: Path) -> bool:
    return not [p for f in folders for p in f.iterdir() if engine.is_temp_name(p.name)]


def move(source: Path, target: Path, **kw) -> engine.Result:
    return engine.Engine().apply(engine.Item(engine.MOVE, str(target), source=str(source), **kw))


# ---------------------------------------------------------------- moving


def test_a_rename_never_clobbers_and_passes_a_cross_device_error_on(tmp_path, other_device):
    put(tmp_path / "a", b"new")
    put(tmp_path / "b", b"old")
    with pytest.raises(FileExistsError):
        fsops.rename_noreplace(str(tmp_path / "a"), str(tmp_path / "b"))
    assert (tmp_path / "b").read_bytes() == b"old" and (tmp_path / "a").read_bytes() == b"new"
    with pytest.raises(OSError) as raised:
        fsops.rename_noreplace(str(tmp_path / "a"), str(other_device / "a"))
    assert fsops.is_cross_device(raised.value) and (tmp_path / "a").exists()
    fsops.rename_noreplace(str(tmp_path / "a"), str(tmp_path / "c"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c"]


def test_a_move_on_one_device_is_a_rename(tmp_path):
    src = put(tmp_path / "local_a.json.tmp", b'{"a":1}')
    inode = src.stat().st_ino
    result = move(src, tmp_path / "local_a.json")
    assert (result.outcome, result.method) == (engine.DONE, "renamed")
    assert (tmp_path / "local_a.json").read_bytes() == b'{"a":1}'
    assert (tmp_path / "local_a.json").stat().st_ino == inode  # the same file, not a copy
    assert not src.exists()


def test_a_move_across_devices_is_a_verified_copy_then_the_source_goes(tmp_path, other_device):
    data = os.urandom(3 << 20)  # several copy chunks
    src = put(other_device / "local_a.json.tmp", data, mode=0o640)
    src_stat = src.stat()
    target = tmp_path / "local_a.json"
    result = move(src, target)
    assert (result.outcome, result.method) == (engine.DONE, "copied"), result.detail
    assert target.read_bytes() == data
    assert result.sha256 == fsops.sha256_bytes(data)
    # Metadata kept: never the 0600 of a fresh temp file, and the original times.
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_mtime_ns == src_stat.st_mtime_ns
    assert not src.exists()
    assert no_temps(tmp_path)


def test_only_a_cross_device_error_leads_to_a_copy(tmp_path, monkeypatch):
    src = put(tmp_path / "a", b"keep me")

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(fsops, "rename_noreplace", refuse)
    result = move(src, tmp_path / "b")
    monkeypatch.undo()
    assert result.outcome == engine.FAILED and "Permission denied" in result.detail
    assert not (tmp_path / "b").exists()  # shutil.move would have copied here (B1)
    assert src.read_bytes() == b"keep me"


def test_a_different_target_is_never_overwritten(tmp_path):
    src = put(tmp_path / "new", b"new")
    dst = put(tmp_path / "old", b"old")
    result = move(src, dst)
    assert result.outcome == engine.FAILED and "different file" in result.detail
    assert (src.read_bytes(), dst.read_bytes()) == (b"new", b"old")


def test_keep_both_gives_the_new_copy_a_free_name(tmp_path, other_device):
    src = put(other_device / "notes.txt", b"new")
    dst = put(tmp_path / "notes.txt", b"old")
    put(tmp_path / "notes (1).txt", b"older")
    result = move(src, dst, keep_both=True)
    assert result.outcome == engine.DONE
    assert result.target == str(tmp_path / "notes (2).txt")
    assert (tmp_path / "notes (2).txt").read_bytes() == b"new"
    assert dst.read_bytes() == b"old" and (tmp_path / "notes (1).txt").read_bytes() == b"older"


def test_a_target_is_replaced_only_while_it_holds_the_bytes_we_may_replace(tmp_path, other_device):
    old = put(tmp_path / "local_a.json", b"stale")
    src = put(other_device / "local_a.json.tmp", b"fresh")
    wrong = move(src, old, target_sha256=fsops.sha256_bytes(b"something else"))
    assert wrong.outcome == engine.FAILED and old.read_bytes() == b"stale" and src.exists()
    right = move(src, old, target_sha256=fsops.sha256_bytes(b"stale"))
    assert right.outcome == engine.DONE and old.read_bytes() == b"fresh" and not src.exists()


def test_an_identical_target_is_already_done_and_a_rerun_is_harmless(tmp_path, other_device):
    src = put(other_device / "a", b"same")
    dst = put(tmp_path / "a", b"same")
    result = move(src, dst)
    assert result.outcome == engine.IDENTICAL and not src.exists() and dst.read_bytes() == b"same"
    again = move(src, dst, source_sha256=fsops.sha256_bytes(b"same"))
    assert again.outcome == engine.IDENTICAL and again.detail == "already moved"


def test_the_same_file_under_two_names_is_refused(tmp_path):
    src = put(tmp_path / "a", b"one file")
    os.link(src, tmp_path / "b")
    result = move(src, tmp_path / "b")
    assert result.outcome == engine.FAILED and "same file" in result.detail
    assert src.read_bytes() == b"one file" and (tmp_path / "b").read_bytes() == b"one file"


def test_a_file_onto_a_folder_and_a_folder_into_itself_are_refused(tmp_path):
    src = put(tmp_path / "a", b"file")
    (tmp_path / "dir").mkdir()
    assert move(src, tmp_path / "dir").outcome == engine.FAILED
    put(tmp_path / "tree" / "x", b"x")
    into_itself = move(tmp_path / "tree", tmp_path / "tree" / "sub")
    assert into_itself.outcome == engine.FAILED and "into itself" in into_itself.detail
    assert src.read_bytes() == b"file" and (tmp_path / "tree" / "x").read_bytes() == b"x"


def test_a_source_that_changed_since_the_plan_is_left_alone(tmp_path):
    src = put(tmp_path / "a", b"changed")
    result = move(src, tmp_path / "b", source_sha256=fsops.sha256_bytes(b"planned"))
    assert result.outcome == engine.FAILED and "changed since" in result.detail
    assert src.read_bytes() == b"changed" and not (tmp_path / "b").exists()


def backup_of(src: Path, target: Path, planned: bytes) -> engine.Item:
    """A backup, as a run makes it: a pinned copy straight to a new name."""
    return engine.Item(engine.COPY, str(target), source=str(src), source_sha256=fsops.sha256_bytes(planned),
                       direct=True)


def test_a_backup_of_a_source_that_changed_since_the_plan_fails_and_leaves_nothing(tmp_path):
    """A backup reads its source once, and that read is the check: a copy
    whose streamed bytes are not the pinned ones is removed, never kept."""
    src = put(tmp_path / "a", b"changed")
    target = tmp_path / "files" / "00001-a"
    target.parent.mkdir()
    result = engine.Engine().apply(backup_of(src, target, b"planned"))
    assert result.outcome == engine.FAILED
    assert result.detail == f"{src} has changed since it was planned; it was left as it is"
    assert src.read_bytes() == b"changed" and list(target.parent.iterdir()) == []
    assert engine.Engine().preview(backup_of(src, target, b"planned")).outcome == engine.FAILED


def test_a_backup_and_a_promotion_read_the_source_once_each(tmp_path, monkeypatch):
    """The reads a repair makes of a session's .tmp: its backup reads it
    once (the copy hashes what it streams) and reads the copy back once; the
    promotion hashes it once, just before the rename.  No other read."""
    src = put(tmp_path / "org" / "local_a.json.tmp", b"planned")
    target = tmp_path / "files" / "00001-local_a.json.tmp"
    target.parent.mkdir()
    reads: list[str] = []
    real_open = os.open

    def counting(path, flags, *args, **kwargs):
        if not flags & (os.O_WRONLY | os.O_RDWR) and os.path.isfile(path):
            reads.append(os.path.basename(os.fspath(path)))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting)
    files = engine.Engine()
    assert files.apply(backup_of(src, target, b"planned")).outcome == engine.DONE
    assert reads == ["local_a.json.tmp", target.name]
    reads.clear()
    promoted = files.apply(engine.Item(engine.MOVE, str(src.parent / "local_a.json"), source=str(src),
                                       source_sha256=fsops.sha256_bytes(b"planned")))
    assert (promoted.outcome, promoted.method) == (engine.DONE, "renamed")
    assert reads == ["local_a.json.tmp"]
    monkeypatch.undo()
    assert target.read_bytes() == (src.parent / "local_a.json").read_bytes() == b"planned"


def test_when_the_source_cannot_be_removed_both_copies_stay(tmp_path, other_device, monkeypatch):
    src = put(other_device / "a", b"data")
    real_unlink = os.unlink

    def refuse_source(path, *args, **kwargs):
        if str(path) == str(src):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refuse_source)
    result = move(src, tmp_path / "a")
    monkeypatch.setattr(os, "unlink", real_unlink)
    assert result.outcome == engine.SOURCE_KEPT and "both are kept" in result.detail
    assert src.read_bytes() == b"data" and (tmp_path / "a").read_bytes() == b"data"


def test_writing_new_bytes_consumes_the_source_only_after_they_are_in_place(tmp_path):
    src = put(tmp_path / "local_a.json.tmp", b"\xef\xbb\xbf{}")
    item = engine.Item(engine.WRITE, str(tmp_path / "local_a.json"), data=b"{}", source=str(src),
                  source_sha256=fsops.sha256_bytes(b"\xef\xbb\xbf{}"))
    result = engine.Engine().apply(item)
    assert (result.outcome, result.method) == (engine.DONE, "written")
    assert (tmp_path / "local_a.json").read_bytes() == b"{}" and not src.exists()
    assert stat.S_IMODE((tmp_path / "local_a.json").stat().st_mode) == 0o640  # the source's mode
    assert no_temps(tmp_path)


def test_remove_needs_the_bytes_it_may_remove(tmp_path):
    f = put(tmp_path / "a", b"data")
    assert engine.Engine().apply(engine.Item(engine.REMOVE, str(f))).outcome == engine.FAILED
    other = engine.Item(engine.REMOVE, str(f), target_sha256=fsops.sha256_bytes(b"other"))
    assert engine.Engine().apply(other).outcome == engine.FAILED
    assert f.read_bytes() == b"data"
    same = engine.Item(engine.REMOVE, str(f), target_sha256=fsops.sha256_bytes(b"data"))
    assert engine.Engine().apply(same).outcome == engine.DONE
    assert not f.exists()


@needs_symlinks
def test_links_are_moved_as_links_never_followed(tmp_path, other_device):
    secret = put(tmp_path / "secret", b"outside")
    link = other_device / "link"
    os.symlink(secret, link)
    result = move(link, tmp_path / "moved")
    assert result.outcome == engine.DONE and result.method == "linked"
    assert os.readlink(tmp_path / "moved") == str(secret)
    assert not os.path.lexists(link) and secret.read_bytes() == b"outside"


@needs_symlinks
def test_a_folder_moves_across_devices_file_by_file(tmp_path, other_device):
    tree = other_device / "tree"
    put(tree / "a.json", b"a")
    put(tree / "sub" / "b.json", os.urandom(100_000))
    b_bytes = (tree / "sub" / "b.json").read_bytes()
    os.symlink("a.json", tree / "sub" / "to-a")
    result = move(tree, tmp_path / "tree")
    assert result.outcome == engine.DONE, result.detail
    assert (tmp_path / "tree" / "a.json").read_bytes() == b"a"
    assert (tmp_path / "tree" / "sub" / "b.json").read_bytes() == b_bytes
    assert os.readlink(tmp_path / "tree" / "sub" / "to-a") == "a.json"
    assert not tree.exists()  # emptied folders removed one by one


def test_a_path_longer_than_windows_max_path_works(tmp_path, other_device):
    deep = tmp_path.joinpath(*["a-rather-long-folder-name-for-testing"] * 8)
    src = put(other_device / "local_a.json.tmp", b"deep")
    assert len(str(deep / "local_a.json")) > 260
    deep.mkdir(parents=True)
    assert move(src, deep / "local_a.json").outcome == engine.DONE
    assert (deep / "local_a.json").read_bytes() == b"deep"


def test_progress_can_cancel_between_items(tmp_path):
    sources = [put(tmp_path / f"s{i}", f"{i}".encode()) for i in range(5)]
    items = [engine.Item(engine.MOVE, str(tmp_path / f"t{i}"), source=str(s)) for i, s in enumerate(sources)]
    results = engine.Engine().run(items, progress=lambda done, total, item: done < 2)
    assert [r.outcome for r in results] == [engine.DONE] * 2 + [engine.CANCELLED] * 3
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["s2", "s3", "s4", "t0", "t1"]


def test_a_temp_file_left_by_a_killed_run_is_swept(tmp_path):
    put(tmp_path / f"{engine.TEMP_PREFIX}{uuid.uuid4().hex}{engine.TEMP_SUFFIX}", b"half a copy")
    put(tmp_path / "local_a.json", b"{}")
    assert len(engine.sweep_temps(str(tmp_path))) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["local_a.json"]


# ---------------------------------------------------------- injected faults


def _is_our_temp(fd: int) -> bool:
    try:
        return engine.TEMP_PREFIX in os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False


@pytest.fixture
def cross_device_move(tmp_path, other_device):
    """A move that must copy, with every original byte on record."""
    data = os.urandom((2 << 20) + 12345)
    src = put(other_device / "local_a.json.tmp", data)
    old = put(tmp_path / "local_a.json", b"the old record")
    originals = {src: data, old: b"the old record"}

    def run() -> engine.Result:
        return move(src, old, target_sha256=fsops.sha256_bytes(b"the old record"))

    def nothing_lost() -> None:
        for path, content in originals.items():
            assert path.read_bytes() == content, f"{path} lost bytes"
        assert no_temps(tmp_path), "a temp file was left behind"

    return run, nothing_lost


def with_fault(run, name: str, fault):
    """run() with os.<name> replaced by fault(real, fd, ...) for our temp files only."""
    real = getattr(os, name)

    def patched(fd, *args):
        return fault(real, fd, *args) if _is_our_temp(fd) else real(fd, *args)

    setattr(os, name, patched)
    try:
        return run()
    finally:
        setattr(os, name, real)


@linux_only
def test_a_full_disk_mid_copy_loses_nothing(cross_device_move):
    run, nothing_lost = cross_device_move
    written = [0]

    def disk_full(real, fd, data):
        if written[0] > (1 << 20):  # the first megabyte got through
            raise OSError(errno.ENOSPC, "No space left on device")
        written[0] += len(data)
        return real(fd, data)

    result = with_fault(run, "write", disk_full)
    assert result.outcome == engine.FAILED and "No space left" in result.detail
    nothing_lost()


@linux_only
def test_a_short_write_is_an_error_not_a_truncated_copy(cross_device_move):
    run, nothing_lost = cross_device_move
    result = with_fault(run, "write", lambda real, fd, data: real(fd, bytes(data[:100])) if len(data) > 100 else 0)
    assert result.outcome == engine.FAILED and "short write" in result.detail
    nothing_lost()


@linux_only
def test_an_io_error_on_fsync_loses_nothing(cross_device_move):
    run, nothing_lost = cross_device_move

    def io_error(real, fd):
        raise OSError(errno.EIO, "Input/output error")

    result = with_fault(run, "fsync", io_error)
    assert result.outcome == engine.FAILED and "Input/output error" in result.detail
    nothing_lost()


@linux_only
def test_a_source_that_changes_during_the_copy_is_not_moved(cross_device_move, tmp_path):
    run, _ = cross_device_move
    src = next(p for p in Path("/dev/shm").glob("session-rescue-test-*/local_a.json.tmp"))

    def someone_appends(real, fd, data):
        if not src.read_bytes().endswith(b" more"):
            with open(src, "ab") as f:  # Claude (or anyone) appends while we copy
                f.write(b" more")
        return real(fd, data)

    result = with_fault(run, "write", someone_appends)
    assert result.outcome == engine.FAILED and "changed while" in result.detail
    assert src.read_bytes().endswith(b" more")  # the source, with its new bytes, stays
    assert (tmp_path / "local_a.json").read_bytes() == b"the old record"
    assert no_temps(tmp_path)


def test_a_folder_we_may_not_write_to_fails_cleanly(cross_device_move, monkeypatch):
    run, nothing_lost = cross_device_move
    real_open = os.open

    def deny_temps(path, flags, *args, **kwargs):
        if engine.TEMP_PREFIX in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny_temps)
    result = run()
    monkeypatch.setattr(os, "open", real_open)
    assert result.outcome == engine.FAILED and "Permission denied" in result.detail
    nothing_lost()


# ------------------------------------------------------- Windows lock retries
# Windows' sharing violations (WinError 32/33) do not exist on Linux, so these
# tests raise OSErrors carrying a winerror, as Windows' would.


def _windows_error(code: int) -> OSError:
    exc = PermissionError(errno.EACCES, "The process cannot access the file")
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


def test_a_briefly_locked_file_is_retried_until_it_frees(tmp_path):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise _windows_error(fsops.WIN_SHARING)
        return "done"

    assert fsops.retry_locked(flaky, str(tmp_path / "x"), threading.Event(), deadline=5) == "done"
    assert len(calls) == 4


def test_a_file_locked_for_good_is_named_after_a_bounded_wait(tmp_path):
    def locked():
        raise _windows_error(fsops.WIN_LOCK)

    start = time.monotonic()
    with pytest.raises(OSError, match="kept it locked"):
        fsops.retry_locked(locked, str(tmp_path / "x"), threading.Event(), deadline=0.3)
    assert time.monotonic() - start < 5


def test_a_wait_on_a_locked_file_stops_when_the_user_cancels(tmp_path):
    cancelled = threading.Event()
    threading.Timer(0.2, cancelled.set).start()

    def locked():
        raise _windows_error(fsops.WIN_SHARING)

    start = time.monotonic()
    with pytest.raises(OSError):
        fsops.retry_locked(locked, str(tmp_path / "x"), cancelled, deadline=60)
    assert time.monotonic() - start < 30


def test_access_denied_on_an_existing_target_fails_at_once(tmp_path):
    target = put(tmp_path / "x", b"there")
    calls = []

    def denied():
        calls.append(1)
        raise _windows_error(fsops.WIN_ACCESS_DENIED)

    with pytest.raises(OSError):
        fsops.retry_locked(denied, str(target), threading.Event(), deadline=60)
    assert len(calls) == 1  # a real refusal costs no ten-second wait (graceful-fs#247)


@pytest.mark.parametrize("name, ok", [
    ("local_0b1c.json", True), ("CON", False), ("nul.json", False), ("COM1.txt", False),
    ("lpt9", False), ("trailing.", False), ("space ", False), ("a:b", False), ("con-notes.json", True),
])
def test_names_windows_would_refuse_are_caught(name, ok):
    assert (fsops.windows_name_problem(name) is None) == ok


def test_windows_not_same_device_counts_as_cross_device():
    # ERROR_NOT_SAME_DEVICE (17) exists only on Windows; the OSError is made by hand.
    exc = OSError(errno.EACCES, "The system cannot move the file to a different disk drive")
    exc.winerror = fsops.WIN_NOT_SAME_DEVICE  # type: ignore[attr-defined]
    assert fsops.is_cross_device(exc)
    assert fsops.is_cross_device(OSError(errno.EXDEV, "Invalid cross-device link"))
    assert not fsops.is_cross_device(OSError(errno.EACCES, "Permission denied"))


def test_a_preview_tells_what_would_happen_and_changes_nothing(tmp_path, other_device):
    src = put(other_device / "a", b"new")
    put(tmp_path / "same", b"new")
    put(tmp_path / "other", b"old")
    (tmp_path / "folder").mkdir()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    file_engine = engine.Engine()

    def preview(target: str, **kw) -> engine.Result:
        return file_engine.preview(engine.Item(engine.MOVE, str(tmp_path / target), source=str(src), **kw))

    assert preview("fresh").outcome == engine.PLANNED
    assert preview("same").outcome == engine.IDENTICAL
    assert preview("other").outcome == engine.FAILED
    assert preview("other", target_sha256=fsops.sha256_bytes(b"old")).outcome == engine.PLANNED
    assert preview("folder").outcome == engine.FAILED
    assert preview("fresh", source_sha256=fsops.sha256_bytes(b"changed")).outcome == engine.FAILED
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert src.read_bytes() == b"new" and not (tmp_path / "fresh").exists()

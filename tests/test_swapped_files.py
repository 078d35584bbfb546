"""A file swapped for something else after the plan is never taken for the
file that was planned.

The repair pins each file it moves, rewrites or backs up by its SHA-256.
Whatever takes that name meanwhile (a link, even to the very same bytes; a
FIFO; a folder) fails the item and stays exactly where it is: never moved,
copied, backed up, opened for writing, or waited on.  A FIFO is the sharp
case: opening one to read waits for a writer, forever, while the repair holds
the backup folder's lock.

Everything is on real files.  The swaps in the middle of an item are made by
a separate Python process with an audit hook (as tests/kill_at.py does), at
the exact ``open`` the engine makes; a regression that blocks on a FIFO then
hangs that process only until PROMPT, never the test run.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.core import engine, fsops

from conftest import ROOT, needs_symlinks, snapshot

T = TypeVar("T")

# Seconds.  Each item here takes milliseconds; one still running after this is
# waiting on the FIFO.
PROMPT = 10.0

PLANNED_BYTES = b'{"sessionId":"local_a","lastActivityAt":1787857881676}'
OTHER_BYTES = b'{"sessionId":"local_a","title":"not what was planned"}'
OLD_RECORD = b'{"sessionId":"local_a","lastActivityAt":1787857878676}'
FIXED_RECORD = b'{"sessionId":"local_a","lastActivityAt":1787857881676,"title":"fixed"}'

needs_fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this system has no FIFOs")


@dataclass(frozen=True)
class Session:
    """One session's files as the repair finds them, and its backup folder."""

    tmp: Path  # the .tmp copy the plan pinned
    record: Path  # the .json it becomes (absent for a "promote")
    backup: Path  # where the run's backup of the .tmp goes
    elsewhere: Path  # a folder outside the data folder, for link targets


def session(tmp_path: Path, with_record: bool) -> Session:
    org = tmp_path / "Claude" / "claude-code-sessions" / "account" / "org"
    org.mkdir(parents=True)
    tmp = org / "local_a.json.tmp"
    tmp.write_bytes(PLANNED_BYTES)
    record = org / "local_a.json"
    if with_record:
        record.write_bytes(OLD_RECORD)
    backup_dir = tmp_path / "backups" / "run" / "files"
    backup_dir.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return Session(tmp, record, backup_dir / "0-local_a.json.tmp", elsewhere)


# The items, built as app/core/repair.py builds them: _move_tmp (a "promote"
# when no record exists, a "replace" when one does), _normalize (a rewrite
# from the .tmp) and _back_up (a direct copy into the run's folder).
ITEMS = ["promote", "replace", "normalize", "backup"]


def item_for(kind: str, s: Session) -> engine.Item:
    pin = fsops.sha256_bytes(PLANNED_BYTES)
    old = fsops.sha256_bytes(OLD_RECORD)
    if kind == "promote":
        return engine.Item(engine.MOVE, str(s.record), source=str(s.tmp), source_sha256=pin)
    if kind == "replace":
        return engine.Item(engine.MOVE, str(s.record), source=str(s.tmp), source_sha256=pin, target_sha256=old)
    if kind == "normalize":
        return engine.Item(engine.WRITE, str(s.record), data=FIXED_RECORD, source=str(s.tmp), source_sha256=pin,
                      target_sha256=old)
    assert kind == "backup"
    return engine.Item(engine.COPY, str(s.backup), source=str(s.tmp), source_sha256=pin, direct=True)


def planned(tmp_path: Path, kind: str) -> tuple[Session, engine.Item]:
    s = session(tmp_path, with_record=kind in ("replace", "normalize"))
    return s, item_for(kind, s)


def promptly(call: Callable[[], T], fifo: Path | None = None) -> T:
    """call(), failing the test if it has not returned within PROMPT seconds.
    A call stuck opening ``fifo`` is then set free (a partner opens the other
    end), so its thread ends."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(PROMPT)
    if thread.is_alive():
        if fifo is not None:
            _free(fifo)
        thread.join(PROMPT)
        pytest.fail(f"still waiting after {PROMPT:.0f} s: it blocked on the FIFO {fifo}")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _free(fifo: Path) -> None:
    """Open both ends of ``fifo`` without waiting, then close them: whoever is
    stuck opening it finds a partner, and then the end of the stream."""
    for flags in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, flags))


# ------------------------------------------------- swapped before the run


@needs_symlinks
@pytest.mark.parametrize("same_bytes", [False, True], ids=["to-other-bytes", "to-the-same-bytes"])
@pytest.mark.parametrize("kind", ITEMS)
def test_a_tmp_swapped_for_a_link_after_planning_is_not_moved_or_backed_up(tmp_path: Path, kind: str,
                                                                            same_bytes: bool) -> None:
    s, item = planned(tmp_path, kind)
    # A link is not the planned file, even when what it points to holds the planned bytes.
    pointed = s.elsewhere / "pointed.json"
    pointed.write_bytes(PLANNED_BYTES if same_bytes else OTHER_BYTES)
    s.tmp.unlink()
    os.symlink(pointed, s.tmp)
    before = snapshot(tmp_path)

    result = engine.Engine().apply(item)

    assert result.outcome == engine.FAILED, (result.outcome, result.method, result.detail)
    assert result.detail == (f"{s.tmp} is no longer the file that was planned (it is now a link); "
                             "it was left as it is")
    assert snapshot(tmp_path) == before  # nothing written, moved, linked or removed, anywhere
    assert os.readlink(s.tmp) == str(pointed)
    assert not s.backup.exists() and not os.path.lexists(s.backup)
    preview = engine.Engine().preview(item)
    assert (preview.outcome, preview.detail) == (engine.FAILED, result.detail)


@needs_fifos
@pytest.mark.parametrize("kind", ITEMS)
def test_a_tmp_swapped_for_a_fifo_after_planning_fails_at_once_and_the_fifo_stays(tmp_path: Path,
                                                                                  kind: str) -> None:
    s, item = planned(tmp_path, kind)
    s.tmp.unlink()
    os.mkfifo(s.tmp)
    before = snapshot(tmp_path)

    out = in_a_child(item, watch=s.tmp)

    assert out["apply"]["outcome"] == engine.FAILED, out
    expected = (f"{s.tmp} is no longer the file that was planned (it is now a named pipe (FIFO)); "
                "it was left as it is")
    assert out["apply"]["detail"] == expected
    assert (out["preview"]["outcome"], out["preview"]["detail"]) == (engine.FAILED, expected)
    assert out["opened"] == 0 and out["opened_for_writing"] == []  # refused on sight, never opened
    assert snapshot(tmp_path) == before
    assert s.tmp.is_fifo() and not os.path.lexists(s.backup)


@pytest.mark.parametrize("kind", ITEMS)
def test_a_tmp_swapped_for_a_folder_after_planning_is_not_moved_or_copied_file_by_file(tmp_path: Path,
                                                                                       kind: str) -> None:
    s, item = planned(tmp_path, kind)
    s.tmp.unlink()
    s.tmp.mkdir()
    (s.tmp / "inside.json").write_bytes(PLANNED_BYTES)  # the planned bytes, but in a folder
    before = snapshot(tmp_path)

    result = engine.Engine().apply(item)

    assert result.outcome == engine.FAILED, (result.outcome, result.method, result.detail)
    assert result.detail == (f"{s.tmp} is no longer the file that was planned (it is now a folder); "
                             "it was left as it is")
    assert snapshot(tmp_path) == before
    assert (s.tmp / "inside.json").read_bytes() == PLANNED_BYTES and not os.path.lexists(s.backup)
    assert engine.Engine().preview(item).outcome == engine.FAILED


# ------------------------------------------------- swapped during the run

# The child: swaps ``watch`` for a FIFO, a link or nothing just before the
# engine's ``at``-th open of it for reading (at 0: no swap), then applies the
# item and previews it, and reports what it saw as JSON.  Every open of
# ``watch`` for writing is recorded; none may happen.
CHILD = r'''
import json, os, sys
from app.core import engine

spec = json.loads(sys.argv[1])
watch, swap, at = spec["watch"], spec["swap"], spec["at"]
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
seen = {"opened": 0, "opened_for_writing": []}
busy = []

def hook(event, args):
    if event != "open" or busy or not isinstance(args[0], str) or os.path.abspath(args[0]) != watch:
        return
    path, mode, flags = args
    if (flags & WRITES) if mode is None else any(c in str(mode) for c in "wax+"):
        seen["opened_for_writing"].append(flags)
        return
    seen["opened"] += 1
    if seen["opened"] == at:
        busy.append(1)  # the swap's own calls are not the engine's
        os.unlink(watch)
        if swap == "fifo":
            os.mkfifo(watch)
        else:
            os.symlink(spec["link_to"], watch)
        busy.clear()

sys.addaudithook(hook)
fields = dict(spec["item"])
if fields["data"] is not None:
    fields["data"] = bytes.fromhex(fields["data"])
item = engine.Item(**fields)
file_engine = engine.Engine()
applied = file_engine.apply(item)
previewed = file_engine.preview(item)
print(json.dumps({"apply": {"outcome": applied.outcome, "detail": applied.detail, "method": applied.method},
                  "preview": {"outcome": previewed.outcome, "detail": previewed.detail}, **seen}))
'''


def in_a_child(item: engine.Item, watch: Path, swap: str = "", at: int = 0, link_to: Path | None = None) -> Any:
    """Apply, then preview, ``item`` in a separate process (see CHILD); what
    it reports.  A child still running after PROMPT seconds is killed and the
    test fails: it was waiting on a FIFO."""
    fields = {"op": item.op, "target": item.target, "source": item.source,
              "data": item.data.hex() if item.data is not None else None, "source_sha256": item.source_sha256,
              "target_sha256": item.target_sha256, "direct": item.direct}
    spec = {"item": fields, "watch": os.path.abspath(watch), "swap": swap, "at": at,
            "link_to": str(link_to) if link_to else None}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], check=False, capture_output=True,
                              text=True, env=env, timeout=PROMPT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the engine was still waiting after {PROMPT:.0f} s: it blocked on {watch}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


FIFO = "(it is now a named pipe (FIFO))"
# (item, what is swapped, before which of the engine's opens of it, for what; what the result says)
RACES = {
    # _check_source looked (a regular file), then opened it to hash it: a FIFO by then.
    "tmp-to-fifo-before-its-hash": ("promote", "tmp", 1, "fifo", f"is no longer the file that was planned {FIFO}"),
    # The backup looked (a regular file), then opened it to copy it: its one
    # read, which hashes what it copies.
    "tmp-to-fifo-before-its-backup-copy": ("backup", "tmp", 1, "fifo", f"changed before it could be copied {FIFO}"),
    "tmp-to-a-link-to-the-same-bytes-before-its-backup-copy": (
        "backup", "tmp", 1, "link", "changed before it could be copied (it is now a link)"),
    # The record looked like a file it may replace, then was opened to hash it.
    "record-to-fifo-before-its-hash": ("replace", "record", 1, "fifo", "a different file is already at"),
    # The rewrite hashed the record, wrote the new one, then hashes the record
    # once more just before replacing it.
    "record-to-fifo-just-before-it-is-replaced": ("normalize", "record", 2, "fifo", "changed while we worked"),
}


@needs_fifos
@needs_symlinks
@pytest.mark.parametrize("race", list(RACES))
def test_a_file_swapped_while_the_engine_works_is_refused_at_once_and_left_as_it_is(tmp_path: Path,
                                                                                    race: str) -> None:
    kind, which, at, swap, says = RACES[race]
    s, item = planned(tmp_path, kind)
    watch = s.tmp if which == "tmp" else s.record
    pointed = s.elsewhere / "pointed.json"
    pointed.write_bytes(watch.read_bytes())  # the same bytes, size and mtime: still not the planned file
    st = watch.stat()
    os.utime(pointed, ns=(st.st_atime_ns, st.st_mtime_ns))

    out = in_a_child(item, watch=watch, swap=swap, at=at, link_to=pointed)

    assert out["opened"] >= at, out  # the swap did happen, where the test meant it to
    assert out["apply"]["outcome"] == engine.FAILED and says in out["apply"]["detail"], out
    assert out["preview"]["outcome"] == engine.FAILED, out
    assert out["opened_for_writing"] == [], out
    assert watch.is_fifo() if swap == "fifo" else os.readlink(watch) == str(pointed)
    assert pointed.read_bytes() == (PLANNED_BYTES if which == "tmp" else OLD_RECORD)
    if which == "record":  # the .tmp that was to replace it is still there, whole
        assert s.tmp.read_bytes() == PLANNED_BYTES
    elif kind == "promote":
        assert not os.path.lexists(s.record)
    assert not os.path.lexists(s.backup)
    assert not [p for p in s.record.parent.iterdir() if engine.is_temp_name(p.name)]


# ------------------------------------------------------------ hashing


@needs_fifos
def test_hashing_a_fifo_fails_at_once_instead_of_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "local_a.json.tmp"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as raised:
        promptly(lambda: fsops.sha256_file(str(fifo)), fifo)
    assert isinstance(raised.value, fsops.NotRegularFile) and raised.value.kind == "a named pipe (FIFO)"
    assert fifo.is_fifo()


@needs_symlinks
def test_hashing_a_link_fails_and_says_it_is_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_bytes(PLANNED_BYTES)
    link = tmp_path / "local_a.json.tmp"
    os.symlink(real, link)
    with pytest.raises(OSError) as raised:
        fsops.sha256_file(str(link))
    assert isinstance(raised.value, fsops.NotRegularFile)
    assert "it is a link" in str(raised.value) and str(link) in str(raised.value)


# -------------------------------------------- what stays as it was (regressions)


@needs_symlinks
def test_an_unpinned_link_is_still_moved_as_a_link(tmp_path: Path) -> None:
    pointed = tmp_path / "pointed.json"
    pointed.write_bytes(OTHER_BYTES)
    link = tmp_path / "link"
    os.symlink(pointed, link)
    result = engine.Engine().apply(engine.Item(engine.MOVE, str(tmp_path / "moved"), source=str(link)))
    assert (result.outcome, result.method) == (engine.DONE, "renamed"), result.detail
    assert os.readlink(tmp_path / "moved") == str(pointed) and not os.path.lexists(link)
    assert pointed.read_bytes() == OTHER_BYTES


@needs_fifos
def test_a_fifo_where_the_record_should_be_is_a_conflict_and_is_left_alone(tmp_path: Path) -> None:
    s, item = planned(tmp_path, "replace")
    s.record.unlink()
    os.mkfifo(s.record)
    result = promptly(lambda: engine.Engine().apply(item), s.record)
    assert result.outcome == engine.FAILED and "a different file is already at" in result.detail
    assert s.record.is_fifo() and s.tmp.read_bytes() == PLANNED_BYTES

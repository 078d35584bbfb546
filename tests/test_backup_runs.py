"""A backup run is data, not instructions.

Undo and recovery put files back as a run's ``manifest.json`` says, and that
file lives in a folder anything running as the user can write.  These tests
plant and tamper with runs, and check that nothing outside Claude's session
files is ever touched, that such a run is reported as ``damaged`` and left
alone, and that a damaged run never blocks the others.  Everything runs the
real CLI on real files.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC
from pathlib import Path

import pytest

from app.core import backups, seal

from conftest import DataFolder, dump, record, run_cli, snapshot

RUN_ID = "20261120-080000.000-abcd"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plant(root: Path, files: list[dict], run_id: str = RUN_ID, journal: bytes | None = b"",
          manifest: object | None = None, sealed: bool = True, **extra) -> Path:
    """A run folder made by hand, as an attacker (or a bad editor) would:
    our format marker, the given files, and a journal without an end (so it
    looks interrupted, and recovery would carry it out).  Sealed with this
    user's key by default, as if the attacker had it (or a buggy version of
    ours had made it): what a run may do is checked *beyond* its seal, and
    these tests check that.  ``sealed=False`` is a run that arrived as data."""
    run = root / run_id
    (run / "files").mkdir(parents=True)
    if manifest is None:
        manifest = {"format": 2, "run_id": run_id, "kind": "repair", "created": "2026-11-20T08:00:00.000Z",
                    "tool": "session-rescue 1.0", "actions": [{"id": "local_x", "action": "promote", "reason": "",
                                                                "title": "x", "files": files}], **extra}
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    (run / "manifest.json").write_bytes(raw)
    if sealed:
        (run / "manifest.seal").write_text(seal.seal(raw))
    if journal is not None:
        (run / "journal.jsonl").write_bytes(journal)
    return run


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file of the user's that no run may touch."""
    path = tmp_path / "home" / "thesis.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"four years of work")
    return path


def backups_json(root: Path) -> dict:
    proc = run_cli("backups", "--json", "--backup-dir", str(root))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def status_of(root: Path, run_id: str = RUN_ID) -> str:
    return next(r["status"] for r in backups_json(root)["runs"] if r["run_id"] == run_id)


# -------------------------------------------------- planted and edited runs


def test_a_planted_run_cannot_make_undo_delete_a_file_outside_claudes_folder(tmp_path, victim):
    root = tmp_path / "b"
    data = victim.read_bytes()
    plant(root, [{"path": str(victim), "before": None, "after": {"sha256": sha(data), "size": len(data)},
                  "backup": None}])
    proc = run_cli("undo", RUN_ID, "--backup-dir", str(root), "-y")
    assert proc.returncode == 2 and "damaged" in proc.stderr and "Traceback" not in proc.stderr
    assert victim.read_bytes() == data
    assert status_of(root) == "damaged"


def test_a_planted_run_cannot_overwrite_a_file_with_its_own_bytes(tmp_path, victim):
    root = tmp_path / "b"
    data, evil = victim.read_bytes(), b"ransom note"
    run = plant(root, [{"path": str(victim), "before": {"sha256": sha(evil), "size": len(evil)},
                        "after": {"sha256": sha(data), "size": len(data)}, "backup": "files/00001-x"}])
    (run / "files" / "00001-x").write_bytes(evil)
    proc = run_cli("undo", RUN_ID, "--backup-dir", str(root), "-y")
    assert proc.returncode == 2 and "damaged" in proc.stderr
    assert victim.read_bytes() == data


def test_a_backup_reference_outside_the_run_is_never_read(tmp_path, folder):
    """``"backup": "../…"``: a session file in its "after" state would be
    "restored" from any file the user can read."""
    root = tmp_path / "b"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"password=hunter2")
    target = folder.json("local_x")
    now = target.read_bytes()
    plant(root, [{"path": str(target), "before": {"sha256": sha(secret.read_bytes()), "size": 16},
                  "after": {"sha256": sha(now), "size": len(now)}, "backup": "files/../../secret.txt"}])
    proc = run_cli("undo", RUN_ID, "--backup-dir", str(root), "-y")
    assert proc.returncode == 2 and "not inside the run's own files/ folder" in proc.stderr
    assert target.read_bytes() == now


def test_a_session_file_reached_through_a_planted_link_is_not_a_session_folder(tmp_path):
    """A path that looks right (claude-code-sessions/<a>/<o>/local_x.json)
    but whose folder is a link to somewhere else is not restored into."""
    root = tmp_path / "b"
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "local_x.json").write_bytes(b"system file")
    fake = tmp_path / "fake" / "claude-code-sessions" / "a"
    fake.mkdir(parents=True)
    os.symlink(elsewhere, fake / "o")
    good = b"replacement"
    run = plant(root, [{"path": str(fake / "o" / "local_x.json"), "before": {"sha256": sha(good), "size": 11},
                        "after": {"sha256": sha(b"system file"), "size": 11}, "backup": "files/1"}])
    (run / "files" / "1").write_bytes(good)
    proc = run_cli("undo", RUN_ID, "--backup-dir", str(root), "-y")
    assert proc.returncode == 2 and "not a Claude session folder" in proc.stderr
    assert (elsewhere / "local_x.json").read_bytes() == b"system file"


def test_a_planted_interrupted_run_is_not_carried_out_by_the_next_repair(tmp_path, folder, victim):
    root = tmp_path / "b"
    data = victim.read_bytes()
    plant(root, [{"path": str(victim), "before": None, "after": {"sha256": sha(data), "size": len(data)},
                  "backup": None}])
    folder.tmp("local_orphan")
    proc = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert proc.returncode == 0, proc.stderr
    assert victim.read_bytes() == data
    assert (folder.org / "local_orphan.json").exists()  # the repair itself went on
    assert f"The backup run {RUN_ID} was left exactly as it is" in proc.stderr and "damaged" in proc.stderr
    assert not (root / RUN_ID / "run.lock").exists()  # nothing was written into it


def test_a_backup_whose_bytes_differ_from_the_manifest_is_never_restored(tmp_path, folder):
    root = tmp_path / "b"
    folder.tmp("local_a")
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    repaired = (folder.org / "local_a.json").read_bytes()
    backup = next(backups.runs(root)[-1].files_dir.iterdir())
    backup.write_bytes(b'{"sessionId":"local_a","planted":true}')
    proc = run_cli("undo", "--last", "--backup-dir", str(root), "-y")
    assert proc.returncode == 2 and "does not hold the bytes its manifest promises" in proc.stderr
    assert (folder.org / "local_a.json").read_bytes() == repaired
    assert not (folder.org / "local_a.json.tmp").exists()


def test_a_run_planted_to_look_genuine_in_every_way_but_its_seal_is_never_acted_on(tmp_path, folder):
    """Real paths, true hashes, the attacker's bytes as the "backup", a
    journal with no end: everything a genuine interrupted run has, but the
    seal only this user's Session Rescue can make.  The next repair (and the
    watcher) must leave the healthy session exactly as it is."""
    root = tmp_path / "b"
    target = folder.json("local_x", title="the user's work")
    now, evil = target.read_bytes(), dump(record("local_x", title="planted"))
    run = plant(root, [{"path": str(target), "before": {"sha256": sha(evil), "size": len(evil)},
                        "after": {"sha256": sha(now), "size": len(now)}, "backup": "files/00001-local_x.json"}],
                sealed=False)
    (run / "files" / "00001-local_x.json").write_bytes(evil)
    folder.tmp("local_orphan")
    proc = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == now
    assert "no valid seal" in proc.stderr and status_of(root) == "damaged"
    assert not list((run / "files").glob("undone-*"))


# ------------------------------------------------------------ foreign folders


def test_a_backup_folder_pointed_at_an_ordinary_folder_writes_nothing_into_its_folders(tmp_path, folder):
    """--backup-dir at a folder of the user's own: its subfolders holding a
    manifest.json are not runs; nothing is written into them, and `backups`
    lists only real runs."""
    mine = tmp_path / "Documents"
    for name, content in (("project", b'{"name": "my app"}'), ("20261120-080000-abcdef", b"[1, 2, 3]"),
                          ("photos", b"not json")):
        (mine / name).mkdir(parents=True)
        (mine / name / "manifest.json").write_bytes(content)
    before = snapshot(mine)
    folder.tmp("local_a")
    proc = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(mine))
    assert proc.returncode == 0, proc.stderr
    after = snapshot(mine)
    assert {k: v for k, v in after.items() if k in before and not os.path.isdir(k)} == \
        {k: v for k, v in before.items() if not os.path.isdir(k)}
    listed = backups_json(mine)["runs"]
    assert [r["status"] for r in listed if r["run_id"] != "20261120-080000-abcdef"] == ["complete"]
    assert next(r for r in listed if r["run_id"] == "20261120-080000-abcdef")["status"] == "damaged"
    text = run_cli("backups", "--backup-dir", str(mine))
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert not (mine / "project" / "journal.jsonl").exists() and not (mine / "photos" / "journal.jsonl").exists()


# ----------------------------------------------------------- malformed runs


def _good_files(folder: DataFolder) -> list[dict]:
    path = folder.json("local_x")
    data = path.read_bytes()
    return [{"path": str(path), "before": None, "after": {"sha256": sha(data), "size": len(data)}, "backup": None}]


MALFORMED = {
    "empty manifest": dict(manifest=b""),
    "truncated manifest": dict(manifest=b'{"format": 2, "run_id": "' + RUN_ID.encode() + b'", "acti'),
    "a list": dict(manifest=b"[1, 2, 3]"),
    "no marker": dict(manifest={"run_id": RUN_ID, "actions": []}),
    "another run's id": dict(manifest={"format": 2, "tool": "session-rescue 1", "run_id": "x", "actions": []}),
    "actions not a list": dict(manifest={"format": 2, "tool": "session-rescue 1", "run_id": RUN_ID,
                                         "actions": {"a": 1}}),
    "files of the wrong type": dict(files="everything"),
    "a path that is a number": dict(files=[{"path": 7, "before": None, "after": None, "backup": None}]),
    "a hash that is not one": dict(files=[{"path": "/x/claude-code-sessions/a/o/local_x.json", "before": None,
                                           "after": {"sha256": "zz", "size": 1}, "backup": None}]),
    "a negative size": dict(files=[{"path": "/x/claude-code-sessions/a/o/local_x.json", "before": None,
                                    "after": {"sha256": "0" * 64, "size": -1}, "backup": None}]),
    "a size that is text": dict(files=[{"path": "/x/claude-code-sessions/a/o/local_x.json", "before": None,
                                        "after": {"sha256": "0" * 64, "size": "big"}, "backup": None}]),
    "an unknown kind": dict(kind="format-disk"),
    "deeply nested": dict(manifest=b"[" * 200_000 + b"]" * 200_000),
    "huge": dict(manifest="sparse"),
    "journal of garbage": dict(journal=b"\x00\xff" * 5000),
    "journal of wrong types": dict(journal=b'{"event": 5}\n[1,2]\n"x"\n{"event": "undo-done", "kept": 7}\n'),
    "journal with one endless line": dict(journal=b"x" * (3 << 20)),
}


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_a_malformed_run_is_damaged_or_harmless_and_never_blocks_anything(shape, tmp_path, folder):
    root = tmp_path / "b"
    spec = dict(MALFORMED[shape])
    manifest = spec.pop("manifest", None)
    files = spec.pop("files", None)
    session = folder.json("local_x")
    session_bytes = session.read_bytes()
    run = plant(root, files if files is not None else _good_files(folder), **spec)
    if manifest == "sparse":  # bigger than any manifest we write, without writing it
        with open(run / "manifest.json", "wb") as f:
            f.truncate(200 << 20)
    elif manifest is not None:
        (run / "manifest.json").write_bytes(manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode())
    listed = run_cli("backups", "--backup-dir", str(root))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr + listed.stdout
    as_json = backups_json(root)
    assert [r["run_id"] for r in as_json["runs"]] == [RUN_ID]
    undone = run_cli("undo", RUN_ID, "--backup-dir", str(root), "-y")
    assert undone.returncode in (0, 1, 2) and "Traceback" not in undone.stderr
    assert len(undone.stderr.strip().splitlines()) <= 1
    folder.tmp("local_orphan")
    repaired = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert repaired.returncode == 0, repaired.stderr
    assert (folder.org / "local_orphan.json").exists()
    # A run whose manifest is well formed and whose journal has no end looks
    # interrupted: recovery takes back the file it says it made, but sets it
    # aside in the run's folder rather than deleting it.  Every byte stays.
    kept = [session] + list((run / "files").glob("undone-*local_x.json"))
    assert any(p.exists() and p.read_bytes() == session_bytes for p in kept)


def test_a_journal_cut_short_by_a_kill_still_reads_as_the_run_it_is(tmp_path, folder):
    """The last line of a killed run's journal may be cut in the middle: that
    is normal, and must not make a finished run look damaged."""
    root = tmp_path / "b"
    folder.tmp("local_a")
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    run = backups.runs(root)[-1]
    with open(run.path / "journal.jsonl", "ab") as f:
        f.write(b'{"t":"2026-11-20T08:00:00.000Z","event":"st')
    assert status_of(root, run.run_id) == "complete"
    proc = run_cli("undo", "--last", "--backup-dir", str(root), "-y")
    assert proc.returncode == 0 and (folder.org / "local_a.json.tmp").exists()


def test_a_damaged_run_does_not_stop_the_recovery_of_the_others(tmp_path, folder):
    """One interrupted run whose backup is gone, one that is whole: the whole
    one is undone, the broken one is reported and kept, and the repair goes on."""
    root = tmp_path / "b"
    folder.tmp("local_a")
    folder.tmp("local_b")
    for session in ("local_a", "local_b"):
        proc = run_cli("repair", "-y", "--session", session, "--data-dir", str(folder.root), "--backup-dir",
                       str(root))
        assert proc.returncode == 0, proc.stderr
    first, second = backups.runs(root)
    for run in (first, second):  # as if both had been killed before their end
        lines = (run.path / "journal.jsonl").read_bytes().splitlines(keepends=True)
        (run.path / "journal.jsonl").write_bytes(b"".join(line for line in lines if b"run-complete" not in line))
    for backup in (first.path / "files").iterdir():
        backup.unlink()
    folder.tmp("local_c")
    proc = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert proc.returncode == 0, proc.stderr
    assert f"An interrupted run ({second.run_id}) was found and undone first" in proc.stderr
    assert f"The backup run {first.run_id} was left exactly as it is" in proc.stderr
    assert (folder.org / "local_c.json").exists()
    assert status_of(root, first.run_id) == "interrupted" and (first.path / "manifest.json").exists()


# ---------------------------------------------------------- times and demo


def test_backup_times_are_shown_in_local_time(tmp_path, folder):
    root = tmp_path / "b"
    folder.tmp("local_a")
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    created = backups_json(root)["runs"][0]["created"]  # the JSON keeps UTC, marked Z
    assert created.endswith("Z")
    from datetime import datetime, timedelta

    utc = datetime.fromisoformat(created.replace("Z", "+00:00"))
    kolkata = (utc + timedelta(hours=5, minutes=30)).replace(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = run_cli("backups", "--backup-dir", str(root), env={"TZ": "Asia/Kolkata"}).stdout
    assert kolkata in text and utc.strftime("%Y-%m-%d %H:%M:%S") not in text


def test_demo_repairs_keep_their_backups_inside_the_demo_data(tmp_path):
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    demo_dir = tmp_path / "demo"
    assert run_cli("demo", str(demo_dir), env=env).returncode == 0
    proc = run_cli("repair", "-y", "--data-dir", str(demo_dir), env=env)
    assert proc.returncode == 0, proc.stderr
    own = demo_dir / backups.DEMO_BACKUPS
    assert len(backups.runs(own)) == 1
    assert not (home / ".local" / "share" / "Session Rescue" / "backups").exists()  # the user's real list
    assert f"--backup-dir {own}" in proc.stdout  # the way back names where the backups are
    run_id = backups.runs(own)[0].run_id
    assert run_cli("undo", run_id, "--backup-dir", str(own), "-y", env=env).returncode == 0


# ------------------------------------------------------- many runs, quickly


def _repaired_runs(folder: DataFolder, root: Path, count: int) -> list[backups.Run]:
    for n in range(count):
        folder.tmp(f"local_{n}")
        proc = run_cli("repair", "-y", "--session", f"local_{n}", "--data-dir", str(folder.root),
                       "--backup-dir", str(root))
        assert proc.returncode == 0, proc.stderr
    return backups.runs(root)


def _interrupt(run: backups.Run) -> None:
    """As if the run had been killed before its end."""
    lines = (run.path / "journal.jsonl").read_bytes().splitlines(keepends=True)
    (run.path / "journal.jsonl").write_bytes(b"".join(line for line in lines if b"run-complete" not in line))


def test_recovery_does_not_open_again_the_runs_it_has_seen_finished(tmp_path, folder, monkeypatch):
    from app.core import finished_runs, undo

    root = tmp_path / "b"
    runs = _repaired_runs(folder, root, 3)
    undo.recover(root)  # sees every run finished, and notes it
    assert set(finished_runs.load(root)) == {r.run_id for r in runs}
    opened: list[str] = []
    real_status = backups.Run.status
    monkeypatch.setattr(backups.Run, "status", lambda run: opened.append(run.run_id) or real_status(run))
    undo.recover(root)
    assert opened == []
    # A run undone since (its journal grew) is read again, and is not undone twice.
    assert run_cli("undo", runs[1].run_id, "--backup-dir", str(root), "-y").returncode == 0
    undo.recover(root)
    assert opened == [runs[1].run_id]


@pytest.mark.parametrize("note", ["wrong key", "garbage", "link"])
def test_a_note_that_lies_cannot_hide_an_interrupted_run_from_recovery(tmp_path, folder, note):
    from app.core import finished_runs, undo

    root = tmp_path / "b"
    run = _repaired_runs(folder, root, 1)[0]
    undo.recover(root)
    _interrupt(run)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not the note's")
    if note == "wrong key":  # it claims the run is finished, for a journal that is not this one
        (root / finished_runs.NOTE).write_text(json.dumps({run.run_id: [1, 2, 3]}))
    elif note == "garbage":
        (root / finished_runs.NOTE).write_bytes(b"\0" * 100)
    else:
        (root / finished_runs.NOTE).unlink()
        (root / finished_runs.NOTE).symlink_to(outside)
    recovery = undo.recover(root)
    assert [r.run_id for r in recovery.undone] == [run.run_id]
    assert (folder.org / "local_0.json.tmp").exists() and not (folder.org / "local_0.json").exists()
    undo.recover(root)  # now it sees the run undone, and writes its note
    assert outside.read_bytes() == b"not the note's"  # the note is replaced, never written through
    assert not (root / finished_runs.NOTE).is_symlink() and run.run_id in finished_runs.load(root)


def test_a_users_own_file_in_a_backup_folder_they_chose_is_never_replaced_by_our_notes(tmp_path):
    """--backup-dir may be an ordinary folder of the user's: our notes there
    have names of our own (found by a hostile review: a plain
    "finished-runs.json" of the user's was replaced)."""
    demo = tmp_path / "Claude"
    assert run_cli("demo", str(demo)).returncode == 0
    mine = tmp_path / "Documents"
    mine.mkdir()
    theirs = {"finished-runs.json": b'{"my": "marathons"}', "journal.jsonl": b"{}\n", "notes.txt": b"mine"}
    for name, data in theirs.items():
        (mine / name).write_bytes(data)
    for _ in range(2):  # the second repair's recovery sees the first run finished, and writes its note
        assert run_cli("repair", "--data-dir", str(demo), "--backup-dir", str(mine), "--yes").returncode == 0
    assert {name: (mine / name).read_bytes() for name in theirs} == theirs

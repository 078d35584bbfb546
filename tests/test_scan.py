"""The scanner tells a user exactly what state each session is in."""

import json
import os
from pathlib import Path

import pytest

from app.core import locations, reasons
from app.core.records import CORRUPT, DELETED, HEALTHY, ORPHANED
from app.core.scan import scan

from conftest import ACCOUNT, ORG, T0, DataFolder, dump, needs_symlinks, record


def scan_one(folder: DataFolder, projects: Path | None = None):
    return scan([locations.chosen(folder.root)], projects)


def by_id(result):
    return {s.id: s for s in result.sessions}


def test_a_loadable_json_is_healthy(folder):
    folder.json("local_a")
    (s,) = scan_one(folder).sessions
    assert (s.status, s.reasons, s.title, s.account, s.org) == (HEALTHY, (), "A session", ACCOUNT, ORG)


def test_a_tmp_without_json_is_orphaned(folder):
    folder.tmp("local_a", title="Lost to EXDEV")
    (s,) = scan_one(folder).sessions
    assert (s.status, s.reasons, s.title) == (ORPHANED, (reasons.TMP_ONLY,), "Lost to EXDEV")
    assert s.json is None and s.tmp.path.endswith("local_a.json.tmp")


def test_a_newer_tmp_makes_the_session_orphaned(folder):
    folder.json("local_a", lastActivityAt=T0 + 1000, title="old")
    folder.tmp("local_a", lastActivityAt=T0 + 9000, title="new")
    (s,) = scan_one(folder).sessions
    assert (s.status, s.reasons, s.title) == (ORPHANED, (reasons.TMP_NEWER,), "new")


def test_an_older_tmp_is_a_leftover_of_a_healthy_session(folder):
    folder.json("local_a", lastActivityAt=T0 + 9000)
    folder.tmp("local_a", lastActivityAt=T0 + 1000)
    (s,) = scan_one(folder).sessions
    assert (s.status, s.reasons) == (HEALTHY, (reasons.TMP_LEFTOVER,))


def test_an_unloadable_tmp_beside_a_good_json_stays_healthy(folder):
    folder.json("local_a")
    folder.tmp("local_a", b"\0" * 100)
    (s,) = scan_one(folder).sessions
    assert (s.status, s.reasons) == (HEALTHY, (reasons.TMP_UNLOADABLE,))


def test_a_broken_json_with_a_good_tmp_is_orphaned_and_says_why(folder):
    folder.json("local_a", b"\0" * 4096)
    folder.tmp("local_a")
    (s,) = scan_one(folder).sessions
    assert (s.status, s.reasons) == (ORPHANED, (reasons.JSON_UNLOADABLE, reasons.ZERO_FILLED))


def test_no_loadable_copy_is_corrupt(folder):
    folder.json("local_a", b"\0" * 4096)
    folder.tmp("local_a", b'{"sessionId":"local_a"')
    (s,) = scan_one(folder).sessions
    assert s.status == CORRUPT and s.reasons == (reasons.ZERO_FILLED, reasons.TRUNCATED)
    assert {d["file"] for d in s.to_json()["details"]} == {"json", "tmp"}


def test_a_tombstoned_id_is_never_orphaned(folder):
    folder.tmp("local_a")
    folder.write("deleted_local_a", str(T0).encode())
    folder.tmp("local_b", cliSessionId="cli-b")
    folder.write("deleted_cli-b", str(T0).encode())  # the other tombstone of the pair
    folder.json("local_c", lastActivityAt=T0)
    folder.tmp("local_c", lastActivityAt=T0 + 5000)
    folder.write("deleted_local_c", str(T0).encode())
    sessions = by_id(scan_one(folder))
    assert all(s.status != ORPHANED for s in sessions.values())
    assert all(reasons.TOMBSTONED in s.reasons and s.tombstoned for s in sessions.values())
    assert {s.status for s in sessions.values()} == {DELETED}  # its own status, never counted as corrupt
    assert all(s.opens is False and s.fix is None for s in sessions.values())


def test_nothing_but_session_files_is_listed(folder):
    folder.json("local_a")
    folder.write("deleted_local_gone", b"1")
    folder.write("scheduled-tasks.json", b'{"tasks":[]}')
    folder.write("desktop.ini", b"[.ShellClassInfo]")
    folder.write("manifest.json.tmp", b"{}")
    folder.write("local_a.json.bak", b"{}")
    folder.write("git-worktrees.json", b"{}")
    (folder.org / "local_dir.json").mkdir()
    (folder.org / "local_dir2.json.tmp").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder.org / "local_pipe.json")  # a pipe would block a careless reader forever
    (folder.root / "claude-code-sessions" / "stray.json").write_bytes(b"{}")
    assert [s.id for s in scan_one(folder).sessions] == ["local_a"]


@needs_symlinks
def test_a_link_out_of_the_data_folder_is_reported_and_never_followed(folder, tmp_path):
    outside = tmp_path / "elsewhere" / "local_a.json"
    outside.parent.mkdir()
    outside.write_bytes(dump(record("local_a", title="SECRET OUTSIDE")))
    os.symlink(outside, folder.org / "local_a.json")
    os.symlink(tmp_path / "nowhere.json", folder.org / "local_b.json")
    sessions = by_id(scan_one(folder))
    a = sessions["local_a"]
    assert (a.status, a.reasons, a.title, a.size) == (CORRUPT, (reasons.LINK_OUTSIDE,), None, None)
    assert sessions["local_b"].reasons == (reasons.LINK_OUTSIDE,)


@needs_symlinks
def test_a_linked_account_folder_outside_is_skipped_with_a_warning(folder, tmp_path):
    elsewhere = tmp_path / "elsewhere-org"
    DataFolder(elsewhere, "acct", "org").json("local_x")
    os.symlink(elsewhere / "claude-code-sessions" / "acct", folder.root / "claude-code-sessions" / "linked")
    result = scan_one(folder)
    assert result.sessions == []
    assert any("outside the data folder" in w for w in result.folders[0].warnings)


@needs_symlinks
def test_a_link_inside_the_data_folder_is_read_like_the_app_reads_it(folder):
    real = folder.write("local_a.json.orig", dump(record("local_a")))
    os.symlink(real.name, folder.org / "local_a.json")
    os.symlink("local_missing.json", folder.org / "local_b.json")
    sessions = by_id(scan_one(folder))
    assert sessions["local_a"].status == HEALTHY and sessions["local_a"].json.is_link
    assert sessions["local_b"].reasons == (reasons.BROKEN_LINK,)


def test_active_account_comes_from_config_json(folder):
    other = folder.root / "claude-code-sessions" / "zz-other" / "org"
    other.mkdir(parents=True)
    folder.json("local_a")
    folder.write("local_b.json", dump(record("local_b")), org=other)
    os.utime(other / "local_b.json", (T0 / 1000 + 10**6,) * 2)  # newer, but config.json decides
    (folder.root / "config.json").write_text(json.dumps({"lastKnownAccountUuid": ACCOUNT}))
    result = scan_one(folder)
    assert (result.folders[0].active_account, result.folders[0].active_source) == (ACCOUNT, "config.json")
    assert {s.id: s.active for s in result.sessions} == {"local_a": True, "local_b": False}


def test_without_config_the_newest_account_is_active(folder):
    other = folder.root / "claude-code-sessions" / "zz-other" / "org"
    other.mkdir(parents=True)
    folder.json("local_a")
    os.utime(folder.org / "local_a.json", (1_000_000, 1_000_000))
    folder.write("local_b.json", dump(record("local_b")), org=other)
    (folder.root / "config.json").write_bytes(b"\0\0\0")  # a broken config is no answer
    result = scan_one(folder)
    assert (result.folders[0].active_account, result.folders[0].active_source) == ("zz-other", "newest")


def test_transcript_is_found_by_id_in_any_project_folder(folder, tmp_path):
    projects = tmp_path / "projects"
    (projects / "C--moved-elsewhere").mkdir(parents=True)
    (projects / "C--moved-elsewhere" / "cli-a.jsonl").write_text("{}\n")
    (projects / "C--x").mkdir()
    (projects / "C--x" / "agent-cli-b.jsonl").write_text("{}\n")  # a subagent is not the session
    folder.json("local_a", cliSessionId="cli-a")
    folder.json("local_b", cliSessionId="cli-b")
    folder.json("local_c", cliSessionId=None)
    sessions = by_id(scan_one(folder, projects))
    assert {k: s.transcript_found for k, s in sessions.items()} == {"local_a": True, "local_b": False,
                                                                     "local_c": False}


def test_sessions_come_newest_first(folder):
    for i, stem in enumerate(["local_old", "local_new", "local_mid"]):
        folder.json(stem, lastActivityAt=T0 + [0, 9000, 5000][i])
    folder.json("local_bad", b"")
    assert [s.id for s in scan_one(folder).sessions] == ["local_new", "local_mid", "local_old", "local_bad"]


def test_the_record_carries_what_a_user_recognises(folder, tmp_path):
    folder.json("local_a", title="Port to Rust", cwd="D:\\src\\x", model="claude-opus-5", completedTurns=4,
                cliSessionId="cli-a", createdAt="2026-09-01T10:00:00Z", lastActivityAt=T0)
    out = scan_one(folder).to_json()["sessions"][0]
    assert out["title"] == "Port to Rust" and out["cwd"] == "D:\\src\\x" and out["model"] == "claude-opus-5"
    assert out["completed_turns"] == 4 and out["cli_session_id"] == "cli-a"
    assert out["created_at"] == "2026-09-01T10:00:00.000Z"
    assert out["last_activity"] == "2026-08-27T19:11:18.676Z"
    assert out["size"] == (folder.org / "local_a.json").stat().st_size


def test_a_folder_without_sessions_is_a_note_not_an_error(tmp_path):
    (tmp_path / "Claude").mkdir()
    result = scan([locations.chosen(tmp_path / "Claude")])
    assert result.sessions == [] and "no claude-code-sessions folder" in result.folders[0].warnings[0]


def test_scan_leaves_the_garbage_collector_as_it_found_it(folder, monkeypatch):
    import gc

    folder.json("local_a")
    assert gc.isenabled()
    scan_one(folder)
    assert gc.isenabled()
    gc.disable()
    try:
        scan_one(folder)
        assert not gc.isenabled()
    finally:
        gc.enable()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("app.core.scan.scan_data_dir", boom)
    with pytest.raises(RuntimeError):
        scan_one(folder)
    assert gc.isenabled()


def test_the_quick_newest_first_sort_gives_the_very_order_of_the_plain_one():
    """sort_newest_first sorts on one number, then ties by id, so that the
    window's thread is not held up by a long sort; the order is the same."""
    import random

    from app.core.records import Session, newest_first, sort_newest_first

    def session(n: int, when: float | None) -> Session:
        return Session(f"local_{n:04d}", "healthy", (), "a", "o", True, "f", None, None, False,
                       last_activity_ms=when)

    rng = random.Random(7)
    for _ in range(40):
        sessions = [session(rng.randrange(500), rng.choice([None, 0.0, -1.0, float(rng.randrange(30))]))
                    for _ in range(rng.randrange(300))]
        quick = list(sessions)
        sort_newest_first(quick)
        assert quick == sorted(sessions, key=newest_first)


def test_the_first_records_are_handed_over_before_the_transcripts_are_listed(tmp_path, monkeypatch):
    """The window shows the first rows of a big folder without waiting for
    ~/.claude/projects to be listed (a third of a second at 100,000); each
    session's transcript is still found by the time the scan returns."""
    from app.core import transcript_index

    folder = DataFolder(tmp_path / "data")
    for n in range(3):
        folder.json(f"local_s{n}", cliSessionId=f"cli-{n}")
    projects = tmp_path / "projects" / "-repo"
    projects.mkdir(parents=True)
    for n in range(3):
        (projects / f"cli-{n}.jsonl").write_text('{"type":"user"}\n', encoding="utf-8")
    events: list[str] = []
    real_listing = transcript_index._list_jsonl

    def listing(*args, **kwargs):  # the real listing, noted when it happens
        events.append("transcripts listed")
        return real_listing(*args, **kwargs)

    monkeypatch.setattr(transcript_index, "_list_jsonl", listing)
    result = scan([locations.chosen(str(folder.root))], tmp_path / "projects",
                  on_batch=lambda batch: events.append(f"{len(batch)} records handed over"))
    assert events[:2] == ["3 records handed over", "transcripts listed"]
    assert sorted(s.transcript_path for s in result.sessions) == [str(projects / f"cli-{n}.jsonl") for n in range(3)]

"""The writes that put a conversation where Claude Desktop looks, attacked:
ids that are no ids, links put where a copy will go (before the plan, and
between the plan and the run), a copy that fails half way, folders that
cannot be listed, copies that differ, a stub a live session may still be
writing, names too long to back up, and a mirror file that is not what it
seems.  Real files and the real CLI; each test names the harm it prevents."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_opens import CLI, CWD, OTHER, SPAN, THIRD, judged, sandbox, ssh_record, stub, transcript
from test_opens import world as world  # noqa: F401 - the fixture, shared
from test_transcripts import conversation, write_transcript

from app.core import backups, locations, plans, rebuild, repair, slug
from app.core.records import CORRUPT, HEALTHY, ORPHANED
from app.core.scan import scan

from conftest import ACCOUNT, T0, DataFolder, as_unprivileged, files_only, run_cli, snapshot


def repair_cli(folder: DataFolder, root: Path, *more: str):
    return run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root), *more)


def new_files(before: dict, after: dict) -> set[str]:
    return set(after) - set(before)


# ------------------------------------------------------------ ids and links


@pytest.mark.parametrize("cli", ["..", ".", "not-a-session-id"])
def test_a_conversation_id_that_is_no_session_id_never_copies_anything(world, cli):
    """A record naming ``..`` once made the sandbox's whole folder look like
    the conversation's own files, and copied all of it, in a run no undo
    would take back."""
    folder, projects, root = world
    folder.json("local_o", cliSessionId=cli, cwd=CWD, **SPAN)
    place = folder.root / "local-agent-mode-sessions" / "org" / "space" / "local_x" / ".claude" / "projects" / "-s"
    write_transcript(place / f"{cli}.jsonl", conversation(sid=CLI, cwd=CWD, start=T0 + 20_000))
    (place / "secret.txt").write_text("someone else's")
    before = files_only(snapshot(projects))
    done = repair_cli(folder, root)
    assert done.returncode == 0, done.stderr
    assert files_only(snapshot(projects)) == before


def test_a_link_where_the_copy_would_go_is_never_written_through(world, tmp_path):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    sandbox(folder, CLI)
    outside = tmp_path / "outside"
    outside.mkdir()
    (projects / slug.slug(CWD)).symlink_to(outside, target_is_directory=True)
    done = repair_cli(folder, root)
    assert done.returncode == 0 and "is a link" in done.stdout, done.stdout
    assert not list(outside.iterdir())


def test_a_link_swapped_in_after_the_plan_stops_that_copy_and_nothing_lands_outside(world, tmp_path):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    sandbox(folder, CLI)
    the_plan = repair.plan(scan([locations.chosen(folder.root)], projects))
    outside = tmp_path / "outside"
    outside.mkdir()
    (projects / slug.slug(CWD)).symlink_to(outside, target_is_directory=True)  # between plan and run
    report = plans.execute(the_plan, root)
    result = next(r for r in report.results if r.id == "local_o")
    assert result.outcome == "failed" and "link" in result.detail
    assert not list(outside.iterdir())


def test_a_copy_that_fails_half_way_is_put_back_at_once_and_the_session_stays_lost(world):
    """Sidecar files first, the transcript last; and a copy that fails on its
    second file leaves nothing of itself behind (it used to leave the
    transcript with half its files, called healthy, that no undo took back)."""
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    source = sandbox(folder, CLI)
    (source.parent / CLI / "tool-results" / "t2.txt").write_text("second output")
    the_plan = repair.plan(scan([locations.chosen(folder.root)], projects))
    action = next(a for a in the_plan.actions if a.id == "local_o")
    assert [os.path.basename(i.target) for i in action.items] == ["t1.txt", "t2.txt", f"{CLI}.jsonl"]
    clash = Path(action.items[1].target)
    clash.parent.mkdir(parents=True, exist_ok=True)
    clash.write_text("appeared meanwhile")  # the second copy will find something there
    before = files_only(snapshot(projects))
    report = plans.execute(the_plan, root)
    result = next(r for r in report.results if r.id == "local_o")
    assert result.outcome == "failed" and "put back as it was" in result.detail, result.detail
    assert files_only(snapshot(projects)) == before  # the first copy is gone again, the stranger kept
    run = backups.runs(root)[-1]
    assert any(p.name.startswith("rolled-back-") for p in run.files_dir.iterdir())  # moved aside, not deleted
    _, s = judged(folder, projects)
    assert s["local_o"].status == ORPHANED


# ----------------------------------------------------- what the index sees


def test_a_conversation_behind_a_linked_project_folder_is_found_and_nothing_is_relinked(world, tmp_path):
    """Claude Desktop follows a project folder that is a link (moved to
    another drive); so does the index, read-only.  The session opens, and no
    other transcript is proposed as its conversation."""
    folder, projects, root = world
    folder.json("local_l", cliSessionId=CLI, cwd=CWD, completedTurns=2, **SPAN)
    elsewhere = tmp_path / "D" / "moved"
    write_transcript(elsewhere / f"{CLI}.jsonl", conversation(sid=CLI, cwd=CWD, start=T0 + 20_000))
    (projects / slug.slug(CWD)).symlink_to(elsewhere, target_is_directory=True)
    transcript(projects, OTHER, cwd=CWD.lower())  # a terminal session, same folder, same times
    result, s = judged(folder, projects)
    assert (s["local_l"].status, s["local_l"].opens) == (HEALTHY, True)
    assert not result.links


def test_a_project_folder_that_cannot_be_read_makes_nowhere_unknown_not_a_verdict(shared_tmp):
    """Where a project folder could not be listed, the conversation may be
    there: never "nowhere on this computer", never a relink on a guess."""
    folder = DataFolder(shared_tmp / "Claude")
    (folder.root / "config.json").write_bytes(json.dumps({"lastKnownAccountUuid": ACCOUNT}).encode())
    projects = folder.root / ".claude" / "projects"
    folder.json("local_q", cliSessionId=THIRD, cwd=CWD, completedTurns=2, **SPAN)
    transcript(projects, CLI)  # one candidate of the same folder and times
    locked = projects / "locked"
    locked.mkdir()
    locked.chmod(0)  # as root everything is readable: the scan runs as 'nobody' (conftest.as_unprivileged)
    for p in [shared_tmp, *shared_tmp.rglob("*")]:
        if p != locked and p.is_dir():
            p.chmod(0o755)

    def look() -> list:
        result, s = judged(folder, projects)
        return [s["local_q"].status, s["local_q"].opens, len(result.links)]

    assert as_unprivileged(look) == [HEALTHY, None, 0]


def test_a_big_conversation_whose_ends_hold_no_message_is_still_a_conversation(world):
    folder, projects, _ = world
    folder.json("local_b", cliSessionId=CLI, cwd=CWD, completedTurns=41, **SPAN)
    path = transcript(projects, CLI)
    middle = path.read_text()
    head = json.dumps({"type": "file-history-snapshot", "snapshot": {"x": "y" * 40_000}}) + "\n"
    tail = json.dumps({"type": "system", "content": "z" * 90_000}) + "\n"
    path.write_text(head + middle + tail)
    _, s = judged(folder, projects)
    assert (s["local_b"].status, s["local_b"].opens) == (HEALTHY, True)


def test_copies_in_two_old_folders_that_differ_are_never_chosen_between(world):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    first = sandbox(folder, CLI, sidecar=False)
    second = Path(str(first).replace("local_x", "local_y"))
    write_transcript(second, conversation(sid=CLI, cwd=CWD, start=T0 + 30_000, turns=3))
    _, s = judged(folder, projects)
    assert s["local_o"].status == ORPHANED and s["local_o"].fix is None and "differ" in s["local_o"].checklist[2].text
    before = files_only(snapshot(projects))
    repair_cli(folder, root)
    assert files_only(snapshot(projects)) == before


def test_of_two_old_copies_where_one_began_the_other_the_whole_one_is_brought_back(world):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    short = sandbox(folder, CLI, sidecar=False)
    whole = Path(str(short).replace("local_x", "local_y"))
    whole.parent.mkdir(parents=True)
    whole.write_bytes(short.read_bytes() + json.dumps({"type": "user", "sessionId": CLI, "cwd": CWD,
                                                       "message": {"content": "and more"}}).encode() + b"\n")
    assert repair_cli(folder, root).returncode == 0
    assert (projects / slug.slug(CWD) / f"{CLI}.jsonl").read_bytes() == whole.read_bytes()


# ------------------------------------------------------------------ stubs


def test_a_stub_of_a_running_claude_code_session_is_left_where_it_is(world):
    folder, projects, root = world
    folder.json("local_t", cliSessionId=CLI, cwd=CWD, **SPAN)
    transcript(projects, CLI, cwd="C:\\Users\\ana\\repos\\shop-split")
    shadow = stub(projects / slug.slug(CWD) / f"{CLI}.jsonl", CLI)
    live = projects.parent / "sessions" / f"{os.getpid()}.json"  # this process stands for the worker
    live.parent.mkdir()
    live.write_text(json.dumps({"pid": os.getpid(), "sessionId": CLI, "cwd": CWD}))
    the_plan = rebuild.plan(scan([locations.chosen(folder.root)], projects))
    action = next(a for a in the_plan.actions if a.id == "local_t")
    assert action.action == "leave" and "is running" in action.reason
    live.unlink()
    assert shadow.exists()


# ---------------------------------------------------------- names, mirrors


def test_a_file_with_a_name_too_long_to_back_up_whole_is_still_undone(world):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    source = sandbox(folder, CLI)
    long_name = "r" * 240 + ".txt"
    (source.parent / CLI / "tool-results" / long_name).write_text("long")
    before = files_only(snapshot(projects))
    assert repair_cli(folder, root).returncode == 0
    assert (projects / slug.slug(CWD) / CLI / "tool-results" / long_name).read_text() == "long"
    undone = run_cli("undo", "--last", "--backup-dir", str(root), "-y")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert files_only(snapshot(projects)) == before


def test_a_mirror_whose_later_lines_are_another_sessions_is_refused(world, tmp_path):
    folder, projects, root = world
    ssh_record(folder)
    mixed = tmp_path / "mixed.jsonl"
    ours = b"".join(json.dumps(x).encode() + b"\n" for x in conversation(sid=CLI, cwd="/srv/app", start=T0))
    theirs = b"".join(json.dumps(x).encode() + b"\n" for x in conversation(sid=OTHER, cwd="/home/else", start=T0))
    mixed.write_bytes(ours + b'{"type":"system","pad":"' + b"p" * (1 << 20) + b'"}\n' + theirs)
    done = run_cli("rebuild", "--mirror", "local_r", str(mixed), "-y", "--data-dir", str(folder.root),
                   "--backup-dir", str(root))
    assert done.returncode == 2 and "not only this one" in done.stderr and not (projects / f"ssh-{CLI}").exists()


def test_a_mirror_file_changed_after_the_plan_was_shown_is_a_new_plan(world, tmp_path):
    folder, projects, _ = world
    ssh_record(folder)
    fetched = tmp_path / "fetched.jsonl"
    write_transcript(fetched, conversation(sid=CLI, cwd="/srv/app", start=T0))
    found = scan([locations.chosen(folder.root)], projects)
    first = rebuild.plan(found, ["local_r"], mirror=str(fetched))
    write_transcript(fetched, conversation(sid=CLI, cwd="/srv/app", start=T0, turns=4))
    again = rebuild.plan(found, ["local_r"], mirror=str(fetched))
    assert first.fingerprint() != again.fingerprint()


def test_a_transcript_naming_another_session_is_not_called_a_session_that_opens(world):
    folder, projects, _ = world
    folder.json("local_t2", cliSessionId=CLI, cwd=CWD, **SPAN)
    path = transcript(projects, CLI)
    path.write_text(path.read_text().replace(CLI, OTHER))
    _, s = judged(folder, projects)
    assert s["local_t2"].opens is None and "Session not found on disk" in s["local_t2"].checklist[2].text
    assert s["local_t2"].status != CORRUPT

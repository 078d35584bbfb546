"""Healthy means it shows and opens: each session is judged along Claude
Desktop's own way from the data folder to an open conversation, and the
losses on that way (failures reference, classes O to Y) are found, and
brought back where the evidence allows.  Real files, the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from test_interrupted_repair import cli_main, kill_at
from test_transcripts import conversation, write_transcript

from app.core import backups, locations, plans, reasons, runcheck, seal, slug, undo, watcher
from app.core.kinds import Kind
from app.core.records import CORRUPT, DELETED, HEALTHY, ORPHANED
from app.core.scan import scan

from conftest import ACCOUNT, ORG, T0, DataFolder, dump, record, run_cli, snapshot

CLI = "aaaaaaaa-1111-4111-8111-111111111111"
OTHER = "bbbbbbbb-2222-4222-8222-222222222222"
THIRD = "cccccccc-3333-4333-8333-333333333333"
CWD = "C:\\Users\\ana\\repos\\shop"
SPAN = dict(createdAt=T0, lastActivityAt=T0 + 600_000)


@pytest.fixture
def world(tmp_path):
    """A data folder, its projects folder (carried inside it, as the demo's),
    and a place for backups."""
    folder = DataFolder(tmp_path / "Claude")
    (folder.root / "config.json").write_bytes(dump({"lastKnownAccountUuid": ACCOUNT}))
    projects = folder.root / ".claude" / "projects"
    projects.mkdir(parents=True)
    return folder, projects, tmp_path / "b"


def judged(folder: DataFolder, projects: Path | None = None, *more: DataFolder):
    result = scan([locations.chosen(f.root) for f in (folder, *more)], projects)
    return result, {s.id: s for s in result.sessions}


def transcript(projects: Path, sid: str, cwd: str = CWD, **kw) -> Path:
    path = projects / slug.slug(cwd) / f"{sid}.jsonl"
    write_transcript(path, conversation(sid=sid, cwd=cwd, start=T0 + 20_000, **kw))
    return path


def stub(path: Path, sid: str, age: float = 3600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "custom-title", "customTitle": "t", "sessionId": sid}) + "\n"
                    + json.dumps({"type": "mode", "mode": "plan", "sessionId": sid}) + "\n")
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def rebuild_all(folder: DataFolder, projects: Path, backup_root: Path):
    """``rebuild --yes``, as a user runs it, over everything it applies to."""
    return run_cli("rebuild", "-y", "--data-dir", str(folder.root), "--projects-dir", str(projects),
                   "--backup-dir", str(backup_root))


def files(root: Path) -> dict:
    return {p: v for p, v in snapshot(root).items() if not os.path.isdir(p)}


# ---------------------------------------------------------- the statuses


def test_a_session_that_opens_is_healthy_and_one_with_no_turns_needs_no_transcript(world):
    folder, projects, _ = world
    folder.json("local_ok", cliSessionId=CLI, cwd=CWD, **SPAN)
    transcript(projects, CLI)
    folder.json("local_new", cliSessionId=None, completedTurns=0)
    _, s = judged(folder, projects)
    assert (s["local_ok"].status, s["local_ok"].opens, s["local_ok"].fix) == (HEALTHY, True, None)
    assert (s["local_new"].status, s["local_new"].opens) == (HEALTHY, True)
    assert [step.name for step in s["local_ok"].checklist][:3] == ["loads", "listed", "conversation"]


def test_a_bom_or_a_null_timestamp_is_orphaned_now_and_one_null_hides_the_whole_list(world):
    folder, projects, _ = world
    transcript(projects, CLI)
    folder.json("local_bom", b"\xef\xbb\xbf" + dump(record("local_bom", cliSessionId=CLI, cwd=CWD, **SPAN)))
    folder.json("local_null", lastActivityAt=None, cliSessionId=None, completedTurns=0)
    for i in range(3):
        folder.json(f"local_fine{i}", cliSessionId=None, completedTurns=0)
    result, s = judged(folder, projects)
    assert (s["local_bom"].status, s["local_bom"].opens, s["local_bom"].fix) == (ORPHANED, False, "repair")
    assert (s["local_null"].status, s["local_null"].fix) == (ORPHANED, "repair")
    assert reasons.HIDES_LIST in s["local_null"].reasons
    assert all(s[f"local_fine{i}"].status == HEALTHY for i in range(3))  # judged each on its own
    assert any("hides all 3 others" in note for note in result.folders[0].notes)


def test_a_deleted_session_is_its_own_status_and_never_counted_as_corrupt(world):
    folder, projects, _ = world
    folder.tmp("local_gone")
    folder.write("deleted_local_gone", str(T0).encode())
    result, s = judged(folder, projects)
    assert (s["local_gone"].status, s["local_gone"].opens, s["local_gone"].fix) == (DELETED, False, None)
    assert result.summary()["corrupt"] == 0 and result.summary()["deleted"] == 1


def test_without_a_transcripts_folder_opens_is_unknown_and_the_record_decides(world, tmp_path):
    folder, _, _ = world
    folder.json("local_ok", cliSessionId=CLI)
    folder.tmp("local_lost")
    result, s = judged(folder, tmp_path / "nowhere")
    assert s["local_ok"].opens is None and s["local_ok"].status == HEALTHY
    assert s["local_lost"].opens is None and (s["local_lost"].status, s["local_lost"].fix) == (ORPHANED, "repair")
    assert len([n for n in result.notes if "no transcripts folder" in n]) == 1  # said once


def test_a_record_whose_conversation_is_nowhere_is_corrupt_and_says_so(world):
    folder, projects, _ = world
    folder.json("local_nowhere", cliSessionId=CLI, completedTurns=3)
    folder.json("local_lostlink", cliSessionId=None, transcriptUnavailable=True, completedTurns=2)
    _, s = judged(folder, projects)
    for sid in ("local_nowhere", "local_lostlink"):
        assert s[sid].status == CORRUPT and reasons.CONVERSATION_MISSING in s[sid].reasons
        assert "nowhere" in s[sid].checklist[-1].text


def test_a_record_that_can_come_back_without_its_conversation_is_orphaned_and_says_the_conversation_is_gone(world):
    folder, projects, _ = world
    folder.tmp("local_half", cliSessionId=CLI, completedTurns=4)
    _, s = judged(folder, projects)
    assert (s["local_half"].status, s["local_half"].fix) == (ORPHANED, "repair")
    assert reasons.CONVERSATION_MISSING in s["local_half"].reasons
    assert "conversation, though, is gone" in s["local_half"].checklist[-1].text


def test_another_accounts_session_is_healthy_and_adopt_is_its_fix(world):
    folder, projects, _ = world
    transcript(projects, CLI)
    folder.json("local_here", cliSessionId=None, completedTurns=0)
    away = DataFolder(folder.root, account="99999999-9999-4999-8999-999999999999")
    away.json("local_away", cliSessionId=CLI, cwd=CWD, **SPAN)
    _, s = judged(folder, projects)
    away_session = s["local_away"]
    assert (away_session.status, away_session.opens, away_session.fix) == (HEALTHY, False, "adopt")
    assert "another account" in away_session.checklist[1].text.lower()


# ------------------------------------------------------ O: sandbox transcript


def sandbox(folder: DataFolder, sid: str, cwd: str = CWD, sidecar: bool = True) -> Path:
    projects = (folder.root / "local-agent-mode-sessions" / ORG / "space" / "local_x" / ".claude" / "projects"
                / "-sessions-abc")
    path = projects / f"{sid}.jsonl"
    write_transcript(path, conversation(sid=sid, cwd=cwd, start=T0 + 20_000))
    os.utime(path, (T0 / 1000, T0 / 1000))
    if sidecar:
        (projects / sid / "tool-results").mkdir(parents=True)
        (projects / sid / "tool-results" / "t1.txt").write_text("output")
    return path


def test_a_conversation_left_in_the_sandbox_is_copied_where_claude_looks_and_undo_takes_it_back(world):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    source = sandbox(folder, CLI)
    before = files(folder.root)
    _, s = judged(folder, projects)
    assert (s["local_o"].status, s["local_o"].opens, s["local_o"].fix) == (ORPHANED, False, "repair")
    assert reasons.TRANSCRIPT_IN_SANDBOX in s["local_o"].reasons
    done = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert done.returncode == 0, done.stderr
    copied = projects / slug.slug(CWD) / f"{CLI}.jsonl"
    assert copied.read_bytes() == source.read_bytes() and source.exists()  # a copy, never a move
    assert copied.stat().st_mtime_ns == source.stat().st_mtime_ns  # its time kept
    assert (projects / slug.slug(CWD) / CLI / "tool-results" / "t1.txt").read_text() == "output"
    _, s = judged(folder, projects)
    assert (s["local_o"].status, s["local_o"].opens) == (HEALTHY, True)
    assert run_cli("undo", "--last", "--backup-dir", str(root), "-y").returncode == 0
    assert files(folder.root) == before and not (projects / slug.slug(CWD)).exists()


def test_a_different_file_where_the_copy_would_go_is_never_overwritten(world):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    sandbox(folder, CLI, sidecar=False)
    there = projects / slug.slug(CWD) / f"{CLI}.jsonl"
    there.parent.mkdir(parents=True)
    there.write_bytes(b"")  # an empty file: Claude finds "no messages"; ours is not copied over it
    done = run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root))
    assert done.returncode == 0 and there.read_bytes() == b""
    assert "a different file is already at" in done.stdout


def test_a_conversation_whose_cwd_is_only_in_its_tail_still_finds_its_folder(world):
    """Class W: the first lines carry no cwd (a snapshot, a null); the tail does."""
    folder, projects, root = world
    folder.json("local_w", cliSessionId=CLI, cwd=CWD, **SPAN)
    path = sandbox(folder, CLI, sidecar=False)
    lines = [{"type": "file-history-snapshot", "snapshot": {"x": "y" * 70_000}}, {"type": "last-prompt", "cwd": None}]
    body = path.read_text()
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + body)
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    assert (projects / slug.slug(CWD) / f"{CLI}.jsonl").exists()


def test_a_cwd_past_200_characters_goes_to_the_folder_the_cli_made_for_it(world):
    """Class U: past 200 characters the CLI adds a hash to the folder name;
    an existing folder with the same first 200 is the one when a transcript
    in it ran in this very folder, and never the folder of another long path
    that shares those 200 characters."""
    folder, projects, root = world
    long_cwd = "C:\\" + "\\".join(["deep-folder-name"] * 16)
    other_cwd = long_cwd + "-but-another-one"
    assert slug.is_long(long_cwd) and slug.key(other_cwd)[:200] == slug.key(long_cwd)[:200]
    folder.json("local_u", cliSessionId=CLI, cwd=long_cwd, **SPAN)
    sandbox(folder, CLI, cwd=long_cwd, sidecar=False)
    not_ours = projects / (slug.key(other_cwd)[:200] + "-aaaaaa")  # sorts first
    write_transcript(not_ours / f"{THIRD}.jsonl", conversation(sid=THIRD, cwd=other_cwd, start=T0))
    made_by_cli = projects / (slug.key(long_cwd)[:200] + "-abc123")
    write_transcript(made_by_cli / f"{OTHER}.jsonl", conversation(sid=OTHER, cwd=long_cwd, start=T0))
    assert run_cli("repair", "-y", "--data-dir", str(folder.root), "--backup-dir", str(root)).returncode == 0
    assert (made_by_cli / f"{CLI}.jsonl").exists() and not (not_ours / f"{CLI}.jsonl").exists()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs SIGKILL")
def killed_at_every_step(tmp_path: Path, build, command) -> int:
    """Run ``command(base)`` on a fresh world ``build(base)``, killed just
    before its nth change to the disk, for n = 1, 2, ... until it runs
    through: after each kill the next run must finish the job exactly as an
    uninterrupted run does, and undo must bring back the world as it was.
    Returns how many steps were killed."""
    def state(base: Path) -> dict:
        return {str(p).replace(str(base), ""): v[3] for p, v in files(base / "Claude").items()}

    ref = tmp_path / "ref"
    build(ref)
    original = state(ref)
    assert cli_main(*command(ref)) == 0
    expected = state(ref)
    assert expected != original
    steps = 0
    for n in range(1, 200):
        base = tmp_path / str(n)
        build(base)
        if kill_at(n, [base / "Claude", base / "b"], *command(base)) == 0:
            break
        steps = n
        assert cli_main(*command(base)) == 0, f"killed before change {n}: the next run failed"
        assert state(base) == expected, f"killed before change {n}: the next run did not finish the job"
        assert cli_main("undo", "--last", "--backup-dir", str(base / "b"), "-y") == 0
        assert state(base) == original, f"killed before change {n}: undo did not bring everything back"
    return steps


def test_a_sandbox_copy_killed_at_any_step_loses_nothing_and_the_next_run_finishes(tmp_path):
    def build(base: Path) -> None:
        folder = DataFolder(base / "Claude")
        (folder.root / ".claude" / "projects").mkdir(parents=True)
        folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
        sandbox(folder, CLI)

    assert killed_at_every_step(tmp_path, build, lambda base: (
        "repair", "-y", "--data-dir", str(base / "Claude"), "--backup-dir", str(base / "b"))) > 3


def test_a_stub_set_aside_killed_at_any_step_loses_nothing_and_the_next_run_finishes(tmp_path):
    def build(base: Path) -> None:
        folder = DataFolder(base / "Claude")
        projects = folder.root / ".claude" / "projects"
        folder.json("local_t", cliSessionId=CLI, cwd=CWD, **SPAN)
        transcript(projects, CLI, cwd="C:\\Users\\ana\\repos\\shop-split")
        stub(projects / slug.slug(CWD) / f"{CLI}.jsonl", CLI)

    assert killed_at_every_step(tmp_path, build, lambda base: (
        "rebuild", "-y", "--data-dir", str(base / "Claude"), "--backup-dir", str(base / "b"))) >= 2


def test_a_mirror_install_killed_at_any_step_loses_nothing_and_the_next_run_finishes(tmp_path):
    fetched = tmp_path / "fetched.jsonl"
    write_transcript(fetched, conversation(sid=CLI, cwd="/srv/app", start=T0 + 20_000))

    def build(base: Path) -> None:
        folder = DataFolder(base / "Claude")
        (folder.root / ".claude" / "projects").mkdir(parents=True)
        ssh_record(folder)

    assert killed_at_every_step(tmp_path, build, lambda base: (
        "rebuild", "--mirror", "local_r", str(fetched), "-y", "--data-dir", str(base / "Claude"),
        "--backup-dir", str(base / "b"))) >= 2


def test_the_watcher_copies_a_sandboxed_conversation_too(world):
    folder, projects, root = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    source = sandbox(folder, CLI)
    event = watcher.Watcher(root, [locations.chosen(folder.root)]).tick()
    assert event is not None and event.restored == 1, event and event.sentence()
    assert (projects / slug.slug(CWD) / f"{CLI}.jsonl").read_bytes() == source.read_bytes()
    _, s = judged(folder, projects)
    assert (s["local_o"].status, s["local_o"].opens) == (HEALTHY, True)


def test_scan_says_in_words_why_a_listed_session_does_not_open_and_which_command_helps(world):
    folder, projects, _ = world
    folder.json("local_o", cliSessionId=CLI, cwd=CWD, **SPAN)
    folder.json("local_fine", cliSessionId=OTHER, cwd=CWD, **SPAN)
    transcript(projects, OTHER)
    sandbox(folder, CLI)
    out = run_cli("scan", "--data-dir", str(folder.root)).stdout
    why = out.split("These load, but do not open in Claude Desktop:")[1].split("\n\n")[0]
    assert "local_o" in why and "old per-session folder" in why and "local_fine" not in why
    assert f"run: session-rescue repair --data-dir {folder.root} (it shows its plan" in out


def test_the_window_and_the_cli_offer_rebuild_for_the_new_link_and_stub_losses(world):
    folder, projects, _ = world
    folder.json("local_q", cliSessionId=THIRD, cwd=CWD, completedTurns=2, **SPAN)
    transcript(projects, CLI)
    folder.json("local_t", cliSessionId=OTHER, cwd=CWD, **SPAN)
    transcript(projects, OTHER, cwd="C:\\Users\\ana\\repos\\shop-split")
    stub(projects / slug.slug(CWD) / f"{OTHER}.jsonl", OTHER)
    # no turns yet, no link: it opens, and there is nothing to rebuild
    folder.json("local_ok", cliSessionId=None, completedTurns=0, cwd="/home/ana/elsewhere", **SPAN)
    _, s = judged(folder, projects)
    assert plans.applies_to(Kind.REBUILD, s["local_q"]) and plans.applies_to(Kind.REBUILD, s["local_t"])
    assert s["local_ok"].status == HEALTHY and not plans.applies_to(Kind.REBUILD, s["local_ok"])
    assert not plans.applies_to(Kind.ADOPT, s["local_q"])


def test_rebuild_is_offered_for_a_transcript_with_a_conversation_and_never_for_a_stub(world):
    folder, projects, _ = world
    transcript(projects, CLI)
    stub(projects / slug.slug(CWD) / f"{OTHER}.jsonl", OTHER)
    result, _ = judged(folder, projects)
    rows = {s.id: s for s in result.transcript_only}
    assert reasons.STUB in rows[OTHER].reasons and not plans.applies_to(Kind.REBUILD, rows[OTHER])
    assert plans.applies_to(Kind.REBUILD, rows[CLI])


# ----------------------------------------------- Q: a link that points at nothing


def test_a_dangling_link_with_one_matching_transcript_is_relinked_by_rebuild(world):
    folder, projects, root = world
    folder.json("local_q", cliSessionId=THIRD, cwd=CWD, completedTurns=2, title="Not the same title", **SPAN)
    transcript(projects, CLI)  # the real conversation, under another id, same folder and times
    _, s = judged(folder, projects)
    assert (s["local_q"].status, s["local_q"].fix) == (ORPHANED, "rebuild")
    assert reasons.LINK_DANGLING in s["local_q"].reasons
    done = rebuild_all(folder, projects, root)
    assert done.returncode == 0, done.stderr
    assert json.loads((folder.org / "local_q.json").read_bytes())["cliSessionId"] == CLI
    _, s = judged(folder, projects)
    assert (s["local_q"].status, s["local_q"].opens) == (HEALTHY, True)


def test_two_candidates_mean_no_relink(world):
    folder, projects, root = world
    folder.json("local_q", cliSessionId=THIRD, cwd=CWD, completedTurns=2, **SPAN)
    transcript(projects, CLI)
    transcript(projects, OTHER)
    before = (folder.org / "local_q.json").read_bytes()
    result, s = judged(folder, projects)
    assert not result.links and s["local_q"].fix is None and s["local_q"].status == CORRUPT
    done = rebuild_all(folder, projects, root)
    assert (folder.org / "local_q.json").read_bytes() == before, done.stdout


# --------------------------------------------------------- T and V: stubs


def test_a_stub_that_shadows_the_real_conversation_is_set_aside_and_undo_brings_it_back(world):
    folder, projects, root = world
    folder.json("local_t", cliSessionId=CLI, cwd=CWD, **SPAN)
    real = transcript(projects, CLI, cwd="C:\\Users\\ana\\repos\\shop-split")
    shadow = stub(projects / slug.slug(CWD) / f"{CLI}.jsonl", CLI)
    shadow_bytes, real_bytes = shadow.read_bytes(), real.read_bytes()
    _, s = judged(folder, projects)
    assert (s["local_t"].status, s["local_t"].fix) == (ORPHANED, "rebuild")
    assert reasons.STUB_SHADOWS in s["local_t"].reasons
    done = rebuild_all(folder, projects, root)
    assert done.returncode == 0, done.stderr
    assert not shadow.exists() and real.read_bytes() == real_bytes  # never touches a file with turns
    run = backups.runs(root)[-1]
    assert shadow_bytes in [p.read_bytes() for p in run.files_dir.iterdir()]  # set aside into the backup
    _, s = judged(folder, projects)
    assert s["local_t"].status == HEALTHY
    assert run_cli("undo", "--last", "--backup-dir", str(root), "-y").returncode == 0
    assert shadow.read_bytes() == shadow_bytes


def test_a_stub_written_minutes_ago_is_left_alone(world):
    folder, projects, root = world
    folder.json("local_t", cliSessionId=CLI, cwd=CWD, **SPAN)
    transcript(projects, CLI, cwd="C:\\Users\\ana\\repos\\shop-split")
    shadow = stub(projects / slug.slug(CWD) / f"{CLI}.jsonl", CLI, age=30)
    done = rebuild_all(folder, projects, root)
    assert shadow.exists() and "last few minutes" in done.stdout


def test_a_transcript_with_no_conversation_is_a_stub_never_rebuilt(world):
    folder, projects, root = world
    folder.json("local_v", cliSessionId=CLI, cwd=CWD, completedTurns=3, **SPAN)
    stub(projects / slug.slug(CWD) / f"{CLI}.jsonl", CLI)
    lonely = stub(projects / slug.slug(CWD) / f"{OTHER}.jsonl", OTHER)
    result, s = judged(folder, projects)
    assert s["local_v"].status == CORRUPT and reasons.STUB_ONLY in s["local_v"].reasons
    row = next(t for t in result.transcript_only if t.id == OTHER)
    assert reasons.STUB in row.reasons
    done = rebuild_all(folder, projects, root)
    assert done.returncode == 0 and len(list(folder.org.glob("local_*.json"))) == 1 and lonely.exists()


# ----------------------------------------------------------- R: SSH mirrors


def ssh_record(folder: DataFolder) -> None:
    folder.json("local_r", cliSessionId=CLI, cwd="/srv/app", completedTurns=5,
                sshConfig={"sshHost": "ana@build-01", "id": "b1", "source": "user"}, **SPAN)


def test_an_ssh_session_without_its_mirror_says_where_the_remote_file_is_and_needs_the_users_copy(world):
    folder, projects, _ = world
    ssh_record(folder)
    _, s = judged(folder, projects)
    r = s["local_r"]
    assert (r.status, r.opens, r.fix) == (ORPHANED, False, None)
    assert reasons.SSH_MIRROR_MISSING in r.reasons
    assert f"~/.claude/projects/-srv-app/{CLI}.jsonl" in r.checklist[2].text and "build-01" in r.checklist[2].text


def test_a_copied_mirror_is_installed_checked_and_undone(world, tmp_path):
    folder, projects, root = world
    ssh_record(folder)
    fetched = tmp_path / "fetched.jsonl"
    write_transcript(fetched, conversation(sid=CLI, cwd="/srv/app", start=T0 + 20_000))
    wrong = tmp_path / "wrong.jsonl"
    write_transcript(wrong, conversation(sid=OTHER, cwd="/srv/app", start=T0 + 20_000))
    common = ("--data-dir", str(folder.root), "--projects-dir", str(projects), "--backup-dir", str(root), "-y")
    refused = run_cli("rebuild", "--mirror", "local_r", str(wrong), *common)
    assert refused.returncode == 2 and "not only this one" in refused.stderr  # the user's mistake: one sentence
    assert not (projects / f"ssh-{CLI}").exists()
    done = run_cli("rebuild", "--mirror", "local_r", str(fetched), *common)
    assert done.returncode == 0, done.stderr + done.stdout
    mirror = projects / f"ssh-{CLI}" / f"{CLI}.jsonl"
    assert mirror.read_bytes() == fetched.read_bytes()
    _, s = judged(folder, projects)
    assert (s["local_r"].status, s["local_r"].opens) == (HEALTHY, True)
    again = run_cli("rebuild", "--mirror", "local_r", str(fetched), *common)
    assert again.returncode == 0 and "already installed" in again.stdout, again.stdout + again.stderr
    shorter = tmp_path / "shorter.jsonl"
    shorter.write_bytes(fetched.read_bytes()[: fetched.stat().st_size // 2])
    kept = run_cli("rebuild", "--mirror", "local_r", str(shorter), *common)
    # not the user's mistake (the copy here is simply longer): no usage error
    assert kept.returncode == 0 and "never replaced by a shorter one" in kept.stdout
    assert mirror.read_bytes() == fetched.read_bytes()
    assert run_cli("undo", "--last", "--backup-dir", str(root), "-y").returncode == 0
    assert not mirror.exists() and not (projects / f"ssh-{CLI}").exists()


# ------------------------------------------------------- X: the other install


def test_records_only_in_the_other_install_are_orphaned_and_adopt_brings_them_to_the_live_one(tmp_path):
    live = DataFolder(tmp_path / "Roaming" / "Claude")
    other = DataFolder(tmp_path / "Packages" / "Claude")
    projects = tmp_path / "projects"
    transcript(projects, CLI)
    live.json("local_live", cliSessionId=None, completedTurns=0)
    other.json("local_old", cliSessionId=CLI, cwd=CWD, **SPAN)
    logs = live.root / "logs"
    logs.mkdir()
    (logs / "main.log").write_text(f"2026-11-20 09:00:00 [info] Loaded 1 persisted sessions from "
                                   f"{live.org}\n")
    result, s = judged(live, projects, other)
    assert [f.live for f in result.folders] == [True, False]
    old = s["local_old"]
    assert (old.status, old.opens, old.fix) == (ORPHANED, False, "adopt") and reasons.OTHER_INSTALL in old.reasons
    done = run_cli("adopt", "-y", "--data-dir", str(live.root), str(other.root), "--projects-dir", str(projects),
                   "--backup-dir", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr + done.stdout
    assert (live.org / "local_old.json").read_bytes() == (other.org / "local_old.json").read_bytes()


# ------------------------------------------------------- the diagnoses


def test_a_folder_trusted_under_another_spelling_is_diagnosed_and_the_file_never_written(world, tmp_path,
                                                                                          monkeypatch):
    folder, projects, _ = world
    folder.json("local_p", cliSessionId=CLI, cwd=CWD, **SPAN)
    transcript(projects, CLI)
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".claude.json"
    config.write_text(json.dumps({"projects": {CWD.replace("\\", "/"): {"hasTrustDialogAccepted": True}}}))
    before = config.read_bytes()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(locations.Host, "this_machine", classmethod(
        lambda cls: locations.Host("win32", {"USERPROFILE": str(home)})))  # Windows' spelling rules, read here
    _, s = judged(folder, projects)
    step = next(step for step in s["local_p"].checklist if step.name == "trusted")
    assert reasons.TRUST_OTHER_SPELLING in s["local_p"].reasons and step.ok is False
    assert s["local_p"].status == HEALTHY  # a diagnosis: shown, it changes no verdict
    assert config.read_bytes() == before


def test_a_transcript_naming_another_session_and_a_failing_ssh_host_are_diagnosed(world):
    folder, projects, _ = world
    folder.json("local_t2", cliSessionId=CLI, cwd=CWD, **SPAN)
    path = transcript(projects, CLI)
    path.write_text(path.read_text().replace(CLI, OTHER))
    ssh_record(folder)
    (folder.root / "logs").mkdir()
    (folder.root / "logs" / "main.log").write_text(
        "2026-11-20 08:01:10 [warn] [SSH] Failed to tail remote transcript: ana@build-01: Permission denied.\n")
    _, s = judged(folder, projects)
    assert reasons.TRANSCRIPT_ID_MISMATCH in s["local_t2"].reasons
    assert reasons.SSH_HOST_FAILING in s["local_r"].reasons


def test_a_log_that_loaded_no_session_beside_healthy_records_says_the_fault_is_the_apps(world):
    folder, projects, _ = world
    folder.json("local_ok", cliSessionId=None, completedTurns=0)
    (folder.root / "logs").mkdir()
    (folder.root / "logs" / "main.log").write_text(f"2026-11-20 09:00:00 [info] Loaded 0 persisted sessions from "
                                                   f"{folder.org}\n")
    result, _ = judged(folder, projects)
    assert any("the data is intact" in note for note in result.folders[0].notes)


# --------------------------------------------------- runs stay confined


def sealed_run(root: Path, manifest: dict) -> Path:
    run = root / "20261120-080000.000-abcd"
    (run / "files").mkdir(parents=True)
    raw = json.dumps({"format": 2, "run_id": run.name, "kind": "repair", "created": "2026-11-20T08:00:00.000Z",
                      "tool": "session-rescue 1", **manifest}).encode()
    (run / "manifest.json").write_bytes(raw)
    (run / "manifest.seal").write_text(seal.seal(raw))
    return run


@pytest.mark.parametrize("where", ["outside", "made-outside"])
def test_a_run_may_change_transcripts_only_inside_its_projects_folder(tmp_path, where):
    root, projects = tmp_path / "b", tmp_path / "projects"
    victim = tmp_path / "elsewhere" / "x" / f"{CLI}.jsonl"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"mine")
    change = {"path": str(victim if where == "outside" else projects / "p" / f"{CLI}.jsonl"), "before": None,
              "after": {"sha256": hashlib.sha256(b"mine").hexdigest(), "size": 4}, "backup": None}
    made = [] if where == "outside" else [str(tmp_path / "elsewhere")]
    run = sealed_run(root, {"projects_root": str(projects),
                            "actions": [{"id": "x", "action": "copy-conversation", "files": [change],
                                         "made_dirs": made}]})
    with pytest.raises(runcheck.Damaged):
        backups.Run(run).manifest()
    with pytest.raises(backups.BackupError):
        undo.undo_run(root, run.name, None)
    assert victim.read_bytes() == b"mine"


def test_a_session_moved_to_the_active_account_is_healthy_and_adopt_is_no_longer_offered(tmp_path):
    """After adopt the original stays where it was (by design); its copy is
    what the app lists, so neither is lost and scan stops offering adopt
    (found by a new user: the advice went in a circle)."""
    data = tmp_path / "Claude"
    assert run_cli("demo", str(data)).returncode == 0
    before = run_cli("scan", "--data-dir", str(data)).stdout
    assert "run: session-rescue adopt" in before
    assert run_cli("adopt", "-y", "--data-dir", str(data), "--backup-dir", str(tmp_path / "b")).returncode == 0
    after = run_cli("scan", "--data-dir", str(data), "--json")
    moved = [s for s in json.loads(after.stdout)["sessions"] if s["title"] == "Spike: WebGPU renderer"]
    assert sorted((s["active"], s["status"], s["fix"]) for s in moved) == [(False, "healthy", None),
                                                                           (True, "healthy", None)]
    assert "run: session-rescue adopt" not in run_cli("scan", "--data-dir", str(data)).stdout

"""Move to active account: sessions left under another account are copied
into the one Claude Desktop shows, never moved, and never twice."""

from __future__ import annotations

import json
from pathlib import Path

from app.core import adopt, demo, engine, locations, plans, repair
from app.core.scan import scan

from conftest import ACCOUNT, T0, DataFolder, dump, files_only, record, run_cli, snapshot

OTHER = "33333333-3333-4333-8333-333333333333"
OTHER_ORG = "44444444-4444-4444-8444-444444444444"


def two_accounts(root: Path) -> tuple[DataFolder, DataFolder]:
    active = DataFolder(root / "Claude")
    other = DataFolder(root / "Claude", account=OTHER, org=OTHER_ORG)
    (root / "Claude" / "config.json").write_bytes(dump({"lastKnownAccountUuid": ACCOUNT}))
    active.json("local_here", cliSessionId="c0000000-0000-4000-8000-000000000000")
    return active, other


def plan_of(root: Path, ids=None) -> plans.Plan:
    return adopt.plan(scan([locations.chosen(root)]), ids)


def actions(plan: plans.Plan) -> dict[str, tuple[str, str]]:
    return {a.id: (a.action, a.reason) for a in plan.actions}


def test_a_session_of_another_account_is_copied_and_its_original_stays(tmp_path):
    active, other = two_accounts(tmp_path)
    original = other.json("local_away", title="Left behind")
    before = original.read_bytes()
    report = plans.execute(plan_of(active.root), tmp_path / "b")
    assert [(r.id, r.outcome) for r in report.results] == [("local_away", engine.DONE)]
    assert (active.org / "local_away.json").read_bytes() == before
    assert original.read_bytes() == before
    rescan = scan([locations.chosen(active.root)])
    assert {(s.id, s.active) for s in rescan.sessions} == {("local_here", True), ("local_away", True),
                                                            ("local_away", False)}


def test_only_a_tmp_copy_is_adopted_as_the_record_and_a_fixable_one_fixed(tmp_path):
    active, other = two_accounts(tmp_path)
    tmp = other.tmp("local_orphan", title="Only a .tmp")
    other.json("local_bom", b"\xef\xbb\xbf" + dump(record("local_bom")))
    assert plans.execute(plan_of(active.root), tmp_path / "b").failed is False
    assert (active.org / "local_orphan.json").read_bytes() == tmp.read_bytes()
    assert (active.org / "local_bom.json").read_bytes() == dump(record("local_bom"))
    assert not (active.org / "local_orphan.json.tmp").exists()


def test_what_the_active_account_has_is_never_overwritten_or_doubled(tmp_path):
    active, other = two_accounts(tmp_path)
    active.json("local_same", title="Same")
    other.json("local_same", title="Same")  # identical bytes
    active.json("local_differs", title="Edited here")
    other.json("local_differs", title="Older elsewhere")
    other.json("local_again", cliSessionId="c0000000-0000-4000-8000-000000000000")  # local_here's conversation
    other.json("local_gone")
    other.write("deleted_local_gone", b"1787857900000")
    other.json("local_cli_gone", cliSessionId="d0000000-0000-4000-8000-000000000000")
    active.write("deleted_d0000000-0000-4000-8000-000000000000", b"1787857900000")
    other.json("local_broken", b"\0" * 512)
    before = files_only(snapshot(tmp_path / "Claude"))
    plan = plan_of(active.root)
    got = actions(plan)
    assert got["local_same"] == (repair.NOTHING, "an identical copy is already in the active account")
    assert got["local_differs"][0] == repair.LEAVE and "both are kept" in got["local_differs"][1]
    assert got["local_again"][0] == repair.LEAVE and "local_here" in got["local_again"][1]
    assert got["local_gone"][0] == got["local_cli_gone"][0] == repair.SKIP_DELETED
    assert got["local_broken"][0] == repair.LEAVE
    assert plan.to_do == []
    report = plans.execute(plan, tmp_path / "b")
    assert report.run_id is None
    assert files_only(snapshot(tmp_path / "Claude")) == before


def test_the_same_session_in_two_other_accounts_is_adopted_once(tmp_path):
    active, other = two_accounts(tmp_path)
    third = DataFolder(tmp_path / "Claude", account="55555555-5555-4555-8555-555555555555", org=OTHER_ORG)
    other.json("local_twice", lastActivityAt=T0 + 5000)
    third.json("local_twice", lastActivityAt=T0 + 9000, title="newer elsewhere")
    plan = plan_of(active.root)
    assert sorted(a.action for a in plan.actions) == ["adopt", "leave"]  # newest first: the newer one wins
    plans.execute(plan, tmp_path / "b")
    assert json.loads((active.org / "local_twice.json").read_bytes())["title"] == "newer elsewhere"


def test_the_cli_adopts_the_demos_other_account_and_undo_removes_the_copies(tmp_path):
    root = demo.write_demo(tmp_path / "Claude").path
    before = files_only(snapshot(root))
    dry = run_cli("adopt", "--data-dir", str(root), "--dry-run", "--json", "--backup-dir", str(tmp_path / "b"))
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] and planned["summary"]["planned"] == 2
    assert files_only(snapshot(root)) == before
    refused = run_cli("adopt", "--data-dir", str(root), "--backup-dir", str(tmp_path / "b"), input="")
    assert refused.returncode == 2 and "only when confirmed" in refused.stderr
    done = run_cli("adopt", "--data-dir", str(root), "--backup-dir", str(tmp_path / "b"), "-y")
    assert done.returncode == 0, done.stderr
    assert "2 adopted" in done.stdout and "To undo this adopt: session-rescue undo " in done.stdout
    active = root / "claude-code-sessions" / demo.ACTIVE_ACCOUNT / demo.ACTIVE_ORG
    assert (active / f"{demo.session_id('ci')}.json").is_file()
    assert (active / f"{demo.session_id('webgpu')}.json").is_file()
    again = run_cli("adopt", "--data-dir", str(root), "--backup-dir", str(tmp_path / "b"), "-y", "--json")
    assert json.loads(again.stdout)["summary"]["skipped"] == 2
    listed = json.loads(run_cli("backups", "--backup-dir", str(tmp_path / "b"), "--json").stdout)
    assert [r["kind"] for r in listed["runs"]] == ["adopt"]
    assert run_cli("undo", "--last", "--backup-dir", str(tmp_path / "b"), "-y").returncode == 0
    assert files_only(snapshot(root)) == before


def test_naming_a_session_that_does_not_exist_is_one_sentence_and_exit_2(tmp_path):
    root = demo.write_demo(tmp_path / "Claude").path
    done = run_cli("adopt", "--data-dir", str(root), "--session", "local_nope", "--dry-run")
    assert done.returncode == 2 and done.stderr.strip() == "session-rescue: no session nope was found"


def test_undo_last_takes_back_the_last_run_even_when_three_start_within_one_second(tmp_path):
    root = demo.write_demo(tmp_path / "Claude").path
    before = files_only(snapshot(root))
    backups = str(tmp_path / "b")
    for command in ("repair", "rebuild", "adopt"):
        done = run_cli(command, "--data-dir", str(root), "--backup-dir", backups, "-y", "--json")
        assert done.returncode == 0, done.stderr
    made = json.loads(run_cli("backups", "--backup-dir", backups, "--json").stdout)["runs"]
    assert [r["kind"] for r in made] == ["repair", "rebuild", "adopt"]  # listed oldest first
    order = ["repair", "rebuild", "adopt"]
    while order:  # newest first, as undo must go
        undone = run_cli("undo", "--last", "--backup-dir", backups, "-y")
        assert undone.returncode == 0, undone.stderr
        status = {r["kind"]: r["status"] for r in json.loads(
            run_cli("backups", "--backup-dir", backups, "--json").stdout)["runs"]}
        assert status[order.pop()] == "undone"
        assert all(status[older] == "complete" for older in order)
    assert files_only(snapshot(root)) == before

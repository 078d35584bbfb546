"""Rebuild: a transcript without a record gets a new record the app loads;
a record that lost its transcript gets the link back.  Opt-in, planned,
backed up, undoable."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_transcripts import CWD, conversation, write_transcript

from app.core import loader, locations, plans, rebuild, repair
from app.core.records import HEALTHY
from app.core.scan import scan
from app.core.transcripts import read_info

from conftest import T0, DataFolder, files_only, run_cli, snapshot

NODE = shutil.which("node")
ORPHAN = "aaaaaaaa-1111-4111-8111-111111111111"
CLI_ONLY = "bbbbbbbb-2222-4222-8222-222222222222"
LOST = "cccccccc-3333-4333-8333-333333333333"

# A healthy record shaped like one from a newer app version, full of values
# that belong to its own session (or are a permission nobody granted the new one).
TEMPLATE_EXTRAS = dict(effort="max", permissionMode="bypassPermissions",
                       chromePermissionMode="skip_all_permission_checks", branch="feature/x",
                       worktreePath="C:\\wt\\x", lastFocusedAt=T0 + 99, enabledMcpTools={"abc": True},
                       alwaysAllowedReasons=["r"], spawnSeed={"k": 1}, classifierSummaryEnabled=True,
                       someNewCounter=7, someNewSetting="value", someNullable=None)


def build(root: Path, template: bool = True) -> tuple[DataFolder, Path]:
    folder = DataFolder(root / "Claude")
    projects = root / "projects"
    if template:
        folder.json("local_template", cliSessionId="dddddddd-4444-4444-8444-444444444444", cwd="C:\\elsewhere",
                    createdAt=T0 - 10**9, lastActivityAt=T0 - 10**9 + 5000, **TEMPLATE_EXTRAS)
    folder.json("local_lost", cwd=CWD, createdAt=T0, lastActivityAt=T0 + 600_000, cliSessionId=None,
                transcriptUnavailable=True, completedTurns=2, title="Fix the flaky checkout test")
    lines = conversation(sid=ORPHAN, start=T0 + 86_400_000, turns=3)
    lines.append({"type": "custom-title", "customTitle": "Checkout: the real fix"})
    write_transcript(projects / "C--Users-ana-repos-shop" / f"{ORPHAN}.jsonl", lines)
    write_transcript(projects / "-home-ana-bench" / f"{CLI_ONLY}.jsonl",
                     [{"type": "summary", "summary": "Benchmark parsers"}]
                     + conversation(sid=CLI_ONLY, cwd="/home/ana/bench", start=T0 + 2 * 86_400_000))
    write_transcript(projects / "C--Users-ana-repos-shop" / f"{LOST}.jsonl",
                     conversation(sid=LOST, start=T0 + 15_000))
    return folder, projects


def files(root: Path) -> dict:
    return files_only(snapshot(root))


def records_in(folder: DataFolder) -> dict[str, dict]:
    return {p.name: json.loads(p.read_bytes()) for p in folder.org.glob("local_*.json")}


# ------------------------------------------------------------ the new record


def test_a_rebuilt_record_takes_its_values_from_the_transcript_and_only_the_shape_from_another(tmp_path):
    folder, projects = build(tmp_path)
    info = read_info(ORPHAN, str(next(projects.rglob(f"{ORPHAN}.jsonl"))))
    template = json.loads((folder.org / "local_template.json").read_bytes())
    made = rebuild.record_for(info, "local_new", template)
    assert made["sessionId"] == "local_new" and made["cliSessionId"] == ORPHAN
    assert made["cwd"] == made["originCwd"] == CWD
    assert made["title"] == "Checkout: the real fix" and made["titleSource"] == "user"
    assert made["createdAt"] == T0 + 86_400_000 and made["lastActivityAt"] > made["createdAt"]
    assert made["completedTurns"] == 3 and made["model"] == "claude-opus-5"
    # Defaults, never the template's choices: no permission is carried over.
    assert (made["permissionMode"], made["effort"], made["isArchived"], made["remoteMcpServersConfig"]) == (
        "default", "default", False, [])
    # By shape: lists empty, objects empty, flags off, nulls null; strings and numbers not at all.
    assert made["alwaysAllowedReasons"] == [] and made["spawnSeed"] == {}
    assert made["classifierSummaryEnabled"] is False and made["someNullable"] is None
    for per_session in ("chromePermissionMode", "branch", "worktreePath", "enabledMcpTools", "someNewCounter",
                        "someNewSetting"):
        assert per_session not in made
    assert made["lastFocusedAt"] == made["lastActivityAt"]
    data = rebuild.encode(made)
    assert loader.check_bytes(data, "local_new").loadable


def test_without_a_healthy_record_the_defaults_are_used(tmp_path):
    info = read_info(CLI_ONLY, str(next(build(tmp_path, template=False)[1].rglob(f"{CLI_ONLY}.jsonl"))))
    made = rebuild.record_for(info, "local_new", None)
    assert set(made) == {"sessionId", "cliSessionId", "cwd", "originCwd", "createdAt", "lastActivityAt", "title",
                         "titleSource", "isArchived", "completedTurns", "model", "effort", "permissionMode",
                         "remoteMcpServersConfig"}
    assert made["title"] == "Benchmark parsers" and made["titleSource"] == "auto"


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the reference loader)")
def test_claude_desktops_own_parser_accepts_every_rebuilt_record(tmp_path):
    """The app reads a record with readFileSync(path, "utf8") and JSON.parse,
    and lists it when it is an object whose sessionId is the file's stem and
    whose timestamps are numbers.  Node applies exactly that to what we wrote."""
    folder, projects = build(tmp_path)
    # hostile titles and paths: quotes, a lone surrogate, controls, non-Latin text
    odd = "eeeeeeee-5555-4555-8555-555555555555"
    lines = conversation(sid=odd, cwd='C:\\Users\\ï\\"quoted"\\路径', start=T0 + 3 * 86_400_000)
    lines.append({"type": "custom-title", "customTitle": "tab\there \ud800 \u2028 \"q\" \\ 🚀"})
    write_transcript(projects / "odd" / f"{odd}.jsonl", lines)
    assert run_cli("rebuild", "--data-dir", str(folder.root), "--projects-dir", str(projects), "--backup-dir",
                   str(tmp_path / "b"), "-y").returncode == 0
    made = [p for p in folder.org.glob("local_*.json") if json.loads(p.read_bytes()).get("cliSessionId")
            in (ORPHAN, CLI_ONLY, odd)]
    assert len(made) == 3
    script = """
const fs = require("fs"), path = require("path");
for (const file of process.argv.slice(1)) {
  const stem = path.basename(file, ".json");
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  const ok = typeof r === "object" && r !== null && !Array.isArray(r) && r.sessionId === stem
    && Number.isFinite(r.createdAt) && Number.isFinite(r.lastActivityAt) && Array.isArray(r.remoteMcpServersConfig);
  console.log(JSON.stringify({stem, ok, cli: r.cliSessionId, title: r.title}));
}"""
    out = subprocess.run([NODE, "-e", script, *map(str, made)], capture_output=True, text=True, check=True)
    seen = [json.loads(line) for line in out.stdout.splitlines()]
    assert all(s["ok"] for s in seen), seen
    titles = {s["cli"]: s["title"] for s in seen}
    assert titles[odd] == "tab here \ud800 \"q\" \\ 🚀"  # a title is one line: whitespace runs become a space
    for path in made:
        assert loader.check_bytes(path.read_bytes(), path.stem).loadable


# ------------------------------------------------------------------ the plan


def test_the_plan_rebuilds_each_transcript_and_links_the_one_that_matches_a_record(tmp_path):
    folder, projects = build(tmp_path)
    result = scan([locations.chosen(folder.root)], projects)
    plan = rebuild.plan(result)
    kinds = {a.action: a for a in plan.actions}
    assert sorted(a.action for a in plan.actions) == ["link", "rebuild", "rebuild"]
    assert kinds["link"].id == "local_lost" and LOST in kinds["link"].reason and "same folder" in kinds["link"].reason
    assert plan.kind == "rebuild"
    # choosing one transcript plans only it; a record id chooses its link
    assert [a.id for a in rebuild.plan(result, [CLI_ONLY]).actions] == [CLI_ONLY]
    assert [a.action for a in rebuild.plan(result, ["local_lost"]).actions] == ["link"]
    # as scan's table shows it, cut short: the first 7 characters name it, as for every other command
    assert [a.id for a in rebuild.plan(result, [CLI_ONLY[:7] + "…"]).actions] == [CLI_ONLY]
    with pytest.raises(plans.PlanError, match="too short"):
        rebuild.plan(result, [CLI_ONLY[:5]])
    with pytest.raises(plans.PlanError, match="no transcript without a record"):
        rebuild.plan(result, ["ffffffff-0000-4000-8000-000000000000"])
    with pytest.raises(plans.PlanError, match="nothing a rebuild does applies to it"):
        rebuild.plan(result, ["local_template"])


def test_without_a_folder_of_the_active_account_nothing_is_planned_and_it_says_why(tmp_path):
    (tmp_path / "Claude" / "claude-code-sessions").mkdir(parents=True)  # wiped to the bone
    projects = tmp_path / "projects"
    write_transcript(projects / "p" / f"{ORPHAN}.jsonl", conversation(sid=ORPHAN))
    done = run_cli("rebuild", "--data-dir", str(tmp_path / "Claude"), "--projects-dir", str(projects),
                   "--backup-dir", str(tmp_path / "b"), "-y")
    assert done.returncode == 2
    assert "no session folder of the signed-in account was found" in done.stderr
    assert done.stderr.count("\n") == 1


# ------------------------------------------------------------------- the CLI


def cli(folder: DataFolder, projects: Path, backups: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_cli("rebuild", "--data-dir", str(folder.root), "--projects-dir", str(projects),
                   "--backup-dir", str(backups), *args, **kw)


def test_rebuild_changes_nothing_unless_confirmed(tmp_path):
    folder, projects = build(tmp_path)
    before = files(tmp_path / "Claude")
    dry = cli(folder, projects, tmp_path / "b", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] and doc["summary"]["planned"] == 3
    refused = cli(folder, projects, tmp_path / "b", input="")  # a script, no terminal, no --yes
    assert refused.returncode == 2 and "only when confirmed" in refused.stderr
    assert files(tmp_path / "Claude") == before
    assert not (tmp_path / "b").exists()


def test_rebuild_then_undo_gives_back_every_byte(tmp_path):
    folder, projects = build(tmp_path)
    before = files(tmp_path / "Claude")
    lost_before = (folder.org / "local_lost.json").read_bytes()
    done = cli(folder, projects, tmp_path / "b", "-y", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["done"] == 3 and report["run_id"]
    after = records_in(folder)
    by_cli = {r["cliSessionId"]: (name, r) for name, r in after.items()}
    assert set(by_cli) >= {ORPHAN, CLI_ONLY, LOST}
    for cli_id in (ORPHAN, CLI_ONLY):
        name, rec = by_cli[cli_id]
        assert name == rec["sessionId"] + ".json" and name.startswith("local_")
    linked = after["local_lost.json"]
    assert linked["cliSessionId"] == LOST and "transcriptUnavailable" not in linked
    old = json.loads(lost_before)
    assert {k: v for k, v in linked.items() if k != "cliSessionId"} == {
        k: v for k, v in old.items() if k not in ("cliSessionId", "transcriptUnavailable")}
    rescan = scan([locations.chosen(folder.root)], projects)
    assert rescan.transcript_only == [] and rescan.links == []
    assert all(s.status == HEALTHY and s.transcript_found for s in rescan.sessions if s.id != "local_template")
    # a second run finds nothing left to do
    again = cli(folder, projects, tmp_path / "b", "-y", "--json")
    assert json.loads(again.stdout)["summary"]["total"] == 0
    undone = run_cli("undo", "--last", "--backup-dir", str(tmp_path / "b"), "-y")
    assert undone.returncode == 0, undone.stderr
    assert files(tmp_path / "Claude") == before


def test_a_record_changed_after_the_plan_is_not_overwritten(tmp_path):
    folder, projects = build(tmp_path)
    result = scan([locations.chosen(folder.root)], projects)
    plan = rebuild.plan(result, ["local_lost"])
    (folder.org / "local_lost.json").write_bytes((folder.org / "local_lost.json").read_bytes().replace(
        b'"title":"Fix', b'"title":"Edited'))
    edited = (folder.org / "local_lost.json").read_bytes()
    report = plans.execute(plan, tmp_path / "b")
    assert report.results[0].outcome == "failed"
    assert (folder.org / "local_lost.json").read_bytes() == edited


def test_naming_a_transcript_to_repair_says_which_command_is_for_it(tmp_path):
    folder, projects = build(tmp_path)
    done = run_cli("repair", "--data-dir", str(folder.root), "--projects-dir", str(projects), "--session", CLI_ONLY,
                   "--dry-run")
    assert done.returncode == 2
    assert done.stderr.strip() == (f"session-rescue: {CLI_ONLY} is a transcript without a record; "
                                   "'rebuild' makes one for it")


def test_a_transcript_that_does_not_say_its_folder_is_left_with_the_reason(tmp_path):
    folder, projects = build(tmp_path)
    nowhere = "abcdef00-0000-4000-8000-000000000000"
    lines = [{k: v for k, v in line.items() if k != "cwd"} for line in conversation(sid=nowhere)]
    write_transcript(projects / "p" / f"{nowhere}.jsonl", lines)
    plan = rebuild.plan(scan([locations.chosen(folder.root)], projects), [nowhere])
    assert [(a.action, a.changes_files) for a in plan.actions] == [(repair.LEAVE, False)]
    assert "does not say which folder" in plan.actions[0].reason

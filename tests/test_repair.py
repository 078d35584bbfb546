"""Repair brings back what can be brought back, leaves the rest exactly as it
is, writes nothing into Claude's folder but session records, and can be undone
byte for byte."""

from __future__ import annotations

import errno
import gc
import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core import backups, demo, engine, fsops, jsjson, locations, plans, reasons, repair, transaction, undo
from app.core.kinds import Kind
from app.core.records import HEALTHY
from app.core.scan import scan

from conftest import T0, DataFolder, as_unprivileged, dump, files_only, needs_symlinks, record, snapshot


def scan_of(root: Path):
    return scan([locations.chosen(root)])


def repair_all(root: Path, backup_root: Path, **kw) -> plans.Report:
    return plans.execute(repair.plan(scan_of(root), **kw), backup_root)


def statuses(root: Path) -> dict[str, str]:
    return {s.id: s.status for s in scan_of(root).sessions}


@pytest.fixture
def demo_root(tmp_path) -> Path:
    return demo.write_demo(tmp_path / "Claude").path


# ---------------------------------------------------------------- the plan


def test_the_plan_says_what_happens_to_each_session_and_why(demo_root):
    result = scan_of(demo_root)
    the_plan = repair.plan(result)
    by_name = {a.id: a for a in the_plan.actions}
    expect = {"payment": repair.PROMOTE, "leak": repair.PROMOTE, "react": repair.PROMOTE,
              "csv": repair.REPLACE, "precommit": repair.REPLACE, "apidocs": repair.REPLACE,
              "postgres": repair.NORMALIZE, "review": repair.NORMALIZE,
              "wiped": repair.LEAVE, "backoff": repair.LEAVE, "copy": repair.LEAVE, "tuesday": repair.LEAVE,
              "deleted": repair.SKIP_DELETED}
    for name, action in expect.items():
        planned = by_name[demo.session_id(name)]
        assert planned.action == action, (name, planned.reason)
        assert planned.reason
    assert all(a.session.status != HEALTHY for a in the_plan.actions)
    # Every change is pinned to the bytes the plan saw.
    for action in the_plan.to_do:
        for change in action.changes:
            if change.before:
                assert fsops.sha256_file(change.path)[0] == change.before.sha256


def test_asking_for_one_session_plans_only_that_one(demo_root):
    result = scan_of(demo_root)
    wanted = demo.session_id("payment")
    the_plan = repair.plan(result, [wanted.removeprefix("local_")])
    assert [a.id for a in the_plan.actions] == [wanted]
    with pytest.raises(plans.PlanError, match="no session"):
        repair.plan(result, ["local_00000000-0000-0000-0000-000000000000"])


# ---------------------------------------------------------------- repairing


def test_repair_brings_back_every_session_that_has_a_good_copy(demo_root, tmp_path):
    planned = {a.id: a for a in repair.plan(scan_of(demo_root)).to_do}
    tmp_bytes = {i: Path(a.session.tmp.path).read_bytes() for i, a in planned.items()
                 if a.action in (repair.PROMOTE, repair.REPLACE)}
    report = repair_all(demo_root, tmp_path / "backups")
    assert not report.failed
    after = statuses(demo_root)
    for session_id, action in planned.items():
        assert after[session_id] == HEALTHY, action.reason
    for session_id, data in tmp_bytes.items():  # the .tmp's bytes, exactly, became the record
        folder = Path(planned[session_id].session.folder)
        assert (folder / f"{session_id}.json").read_bytes() == data
        assert not (folder / f"{session_id}.json.tmp").exists()


def test_nothing_but_session_records_is_written_into_claudes_folder(demo_root, tmp_path):
    before = files_only(snapshot(demo_root))
    report = repair_all(demo_root, tmp_path / "backups")
    after = files_only(snapshot(demo_root))
    created = set(after) - set(before)
    changed = {p for p in set(after) & set(before) if after[p] != before[p]}
    removed = set(before) - set(after)
    assert created and removed and changed
    for path in created | changed:
        assert re.fullmatch(r"local_[0-9a-f-]{36}\.json", Path(path).name), path
    assert all(path.endswith(".json.tmp") for path in removed)
    assert report.backup_dir and not Path(report.backup_dir).is_relative_to(demo_root)


def test_a_second_repair_changes_nothing(demo_root, tmp_path):
    first = repair_all(demo_root, tmp_path / "backups")
    assert first.run_id
    state = snapshot(demo_root)
    second = repair_all(demo_root, tmp_path / "backups")
    assert second.run_id is None and not second.failed
    assert {r.outcome for r in second.results} == {plans.SKIPPED}
    assert snapshot(demo_root) == state
    assert len(backups.runs(tmp_path / "backups")) == 1


def test_undo_puts_back_every_byte_and_removes_what_the_repair_created(demo_root, tmp_path):
    before = files_only(snapshot(demo_root))
    report = repair_all(demo_root, tmp_path / "backups")
    assert files_only(snapshot(demo_root)) != before
    run = backups.find(tmp_path / "backups", report.run_id)
    results = undo.undo(run).results
    assert {r.outcome for r in results} == {engine.DONE}
    assert files_only(snapshot(demo_root)) == before  # bytes, sizes, modes and mtimes
    assert run.status() == backups.UNDONE
    assert {r.outcome for r in undo.undo(run).results} == {engine.IDENTICAL}  # a second undo changes nothing


def test_undo_never_overwrites_a_session_changed_since_the_repair(demo_root, tmp_path):
    report = repair_all(demo_root, tmp_path / "backups")
    payment = next(Path(a.session.folder) / f"{a.id}.json" for a in repair.plan(scan_of(demo_root),
                   [demo.session_id("payment")]).actions)
    newer = dump(demo.record("payment", "Refactor payment module (continued)", demo.API, 0))
    payment.write_bytes(newer)  # the user went on working in Claude Desktop
    results = {r.id: r for r in undo.undo(backups.find(tmp_path / "backups", report.run_id)).results}
    assert results[demo.session_id("payment")].outcome == undo.KEPT
    assert payment.read_bytes() == newer
    assert results[demo.session_id("leak")].outcome == engine.DONE
    run = backups.find(tmp_path / "backups", report.run_id)  # still undoable, partly, by its id
    assert run.status() == backups.PARTLY_UNDONE


def test_every_changed_file_is_in_the_manifest_and_the_backup(demo_root, tmp_path):
    before = files_only(snapshot(demo_root))
    report = repair_all(demo_root, tmp_path / "backups")
    run = backups.Run(Path(report.backup_dir))
    manifest = run.manifest()
    recorded = {c.path: c for a in manifest.actions for c in a.files}
    now = files_only(snapshot(demo_root))
    for path, state in before.items():
        if now.get(path) != state:  # changed or removed by the repair
            entry = recorded[path]
            assert entry.before.sha256 == state[3] and entry.before.size == state[1]
            assert entry.before.mtime_ns == state[2]
            assert fsops.sha256_file(str(run.path / entry.backup))[0] == state[3]


def test_deleted_sessions_are_never_brought_back(folder, tmp_path):
    folder.tmp("local_gone")
    folder.write("deleted_local_gone", b"1787857900000")
    folder.tmp("local_cli", cliSessionId="cafe")
    folder.write("deleted_cafe", b"1787857900000")
    report = repair_all(folder.root, tmp_path / "backups")
    assert {r.action for r in report.results} == {repair.SKIP_DELETED}
    assert not (folder.org / "local_gone.json").exists() and not (folder.org / "local_cli.json").exists()


def test_the_newest_good_copy_wins(folder, tmp_path):
    folder.json("local_stale", lastActivityAt=T0 + 1000, title="old")
    folder.tmp("local_stale", lastActivityAt=T0 + 9000, title="new")
    folder.json("local_bomnew", b"\xef\xbb\xbf" + dump(record("local_bomnew", lastActivityAt=T0 + 9000)))
    folder.tmp("local_bomnew", lastActivityAt=T0 + 1000)
    tmp_before = (folder.org / "local_bomnew.json.tmp").read_bytes()
    repair_all(folder.root, tmp_path / "backups")
    assert json.loads((folder.org / "local_stale.json").read_bytes())["title"] == "new"
    fixed = json.loads((folder.org / "local_bomnew.json").read_bytes())
    assert fixed["lastActivityAt"] == T0 + 9000  # the newer record, its mark removed
    assert (folder.org / "local_bomnew.json.tmp").read_bytes() == tmp_before  # the older copy, untouched
    assert statuses(folder.root) == {"local_stale": HEALTHY, "local_bomnew": HEALTHY}


def test_a_byte_order_mark_is_removed_and_nothing_else_changes(folder, tmp_path):
    body = dump(record("local_bom", title="Ünïcode ✓", nested={"a": [1.5, 2e-7, 10**20]}))
    folder.json("local_bom", b"\xef\xbb\xbf" + body)
    repair_all(folder.root, tmp_path / "backups")
    assert (folder.org / "local_bom.json").read_bytes() == body


def test_null_timestamps_are_filled_and_claudes_loader_accepts_the_result(folder, tmp_path):
    folder.json("local_nolast", lastActivityAt=None)
    folder.json("local_nocreated", createdAt=None)
    missing = record("local_missing")
    del missing["createdAt"], missing["lastActivityAt"]
    path = folder.json("local_missing", dump(missing))
    os.utime(path, (1_700_000_000, 1_700_000_000))
    folder.tmp("local_tmpnull", b"\xef\xbb\xbf" + dump(record("local_tmpnull", createdAt=None)))
    repair_all(folder.root, tmp_path / "backups")
    load = {p.name[:-5]: json.loads(p.read_bytes()) for p in folder.org.glob("*.json")}
    assert load["local_nolast"]["lastActivityAt"] == T0
    assert load["local_nocreated"]["createdAt"] == T0 + 3000
    assert load["local_missing"]["createdAt"] == load["local_missing"]["lastActivityAt"] == 1_700_000_000_000
    assert load["local_tmpnull"]["createdAt"] == T0 + 3000
    assert not (folder.org / "local_tmpnull.json.tmp").exists()
    # Claude Desktop's own parser, Node's JSON.parse, is the judge.
    script = ("const fs=require('fs'),path=require('path');const out={};"
              "for(const f of fs.readdirSync(process.argv[1]).filter(n=>n.endsWith('.json'))){"
              "const r=JSON.parse(fs.readFileSync(path.join(process.argv[1],f),'utf8'));"
              "out[f]=r.sessionId+'.json'===f&&Number.isFinite(r.createdAt)&&Number.isFinite(r.lastActivityAt);}"
              "console.log(JSON.stringify(out));")
    verdicts = json.loads(subprocess.run(["node", "-e", script, str(folder.org)], capture_output=True, text=True,
                                         check=True).stdout)
    assert len(verdicts) == 4 and all(verdicts.values()), verdicts


def test_what_cannot_be_fixed_is_left_exactly_as_it_is(folder, tmp_path):
    folder.json("local_mismatch", sessionId="local_other")
    folder.json("local_garbled", createdAt="last Tuesday")
    folder.json("local_nan", dump(record("local_nan")).replace(b'"completedTurns":1', b'"completedTurns":NaN'))
    folder.json("local_bomjunk", b"\xef\xbb\xbf{not json")
    before = snapshot(folder.root)
    report = repair_all(folder.root, tmp_path / "backups")
    assert {r.action for r in report.results} == {repair.LEAVE}
    assert all(r.outcome == plans.SKIPPED and "none can be fixed" in r.detail for r in report.results)
    assert snapshot(folder.root) == before and report.run_id is None


@needs_symlinks
def test_links_are_never_followed_or_changed(folder, tmp_path):
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(dump(record("local_out")))
    os.symlink(outside, folder.org / "local_out.json.tmp")
    folder.write("spare-copy.txt", dump(record("local_in")))
    os.symlink("spare-copy.txt", folder.org / "local_in.json.tmp")  # inside the folder: the app would follow it
    before, outside_bytes = snapshot(folder.root), outside.read_bytes()
    report = repair_all(folder.root, tmp_path / "backups")
    assert {r.id: r.action for r in report.results} == {"local_out": repair.SKIP_LINK, "local_in": repair.SKIP_LINK}
    assert snapshot(folder.root) == before and outside.read_bytes() == outside_bytes


def test_a_file_changed_after_the_plan_is_not_touched(folder, tmp_path):
    tmp = folder.tmp("local_a")
    the_plan = repair.plan(scan_of(folder.root))
    tmp.write_bytes(dump(record("local_a", title="typed after the plan")))
    report = plans.execute(the_plan, tmp_path / "backups")
    assert report.results[0].outcome == engine.FAILED and "changed since" in report.results[0].detail
    assert b"typed after the plan" in tmp.read_bytes() and not (folder.org / "local_a.json").exists()


def test_cancelling_midway_loses_nothing_and_can_be_undone(folder, tmp_path):
    for i in range(6):
        folder.tmp(f"local_{i}", lastActivityAt=T0 + i)
    before = files_only(snapshot(folder.root))
    the_plan = repair.plan(scan_of(folder.root))
    report = plans.execute(the_plan, tmp_path / "backups", progress=lambda done, total, action: done < 2)
    outcomes = [r.outcome for r in report.results]
    assert outcomes.count(engine.DONE) == 2 and outcomes.count(engine.CANCELLED) == 4
    assert len(list(folder.org.glob("*.json"))) == 2 and len(list(folder.org.glob("*.tmp"))) == 4
    undo.undo(backups.find(tmp_path / "backups", report.run_id))
    assert files_only(snapshot(folder.root)) == before


def test_a_run_stopped_before_its_first_session_is_listed_with_no_sessions(folder, tmp_path):
    """Cancelled (or stopped by Claude Desktop) before it changed anything:
    the list of backups must not say it holds every session it planned."""
    for i in range(3):
        folder.tmp(f"local_{i}", lastActivityAt=T0 + i)
    before = files_only(snapshot(folder.root))
    report = plans.execute(repair.plan(scan_of(folder.root)), tmp_path / "backups",
                           progress=lambda done, total, action: False)
    assert [r.outcome for r in report.results] == [engine.CANCELLED] * 3
    (info,) = backups.describe_all(tmp_path / "backups")
    assert (info.status, info.sessions, info.ids) == (backups.COMPLETE, 0, [])
    undo.undo(backups.find(tmp_path / "backups", report.run_id))  # still undoable, and a no-op
    assert files_only(snapshot(folder.root)) == before
    stopped_later = plans.execute(repair.plan(scan_of(folder.root)), tmp_path / "backups",
                                  progress=lambda done, total, action: done < 1)
    listed = {i.run_id: i for i in backups.describe_all(tmp_path / "backups")}[stopped_later.run_id]
    assert listed.sessions == 1  # one was changed: that one is listed


def test_backups_never_go_inside_claudes_folder(folder):
    folder.tmp("local_a")
    with pytest.raises(backups.BackupError, match="inside Claude's data folder"):
        repair_all(folder.root, folder.root / "backups")
    assert not (folder.root / "backups").exists()


def test_hostile_files_go_through_repair_without_harm(folder, tmp_path):
    folder.json("local_empty", b"")
    folder.json("local_zero", b"\0" * 144_258)
    folder.json("local_bin", os.urandom(1 << 16))
    folder.json("local_deep", dump(record("local_deep", deep=[])).replace(b'"deep":[]', b'"deep":'
                                                                          + b"[" * 100_000 + b"]" * 100_000))
    junk = os.urandom(1 << 20) * 20
    folder.json("local_junk", junk)
    folder.tmp("local_junk")
    folder.json("local_nested_bom", b"\xef\xbb\xbf" + dump(record("local_nested_bom")).replace(
        b'"remoteMcpServersConfig":[]', b'"x":' + b"[" * 50_000 + b"]" * 50_000))
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder.org / "local_fifo.json.tmp")
    before = files_only(snapshot(folder.root))
    report = repair_all(folder.root, tmp_path / "backups")
    by_id = {r.id: r for r in report.results}
    assert by_id["local_junk"].outcome == engine.DONE  # the 20 MB of junk is replaced, and kept in the backup
    assert by_id["local_nested_bom"].outcome == engine.DONE
    for name in ("local_empty.json", "local_zero.json", "local_bin.json"):
        assert by_id[name.split(".")[0]].action == repair.LEAVE
        path = str(folder.org / name)
        assert files_only(snapshot(folder.root))[path] == before[path]
    assert "local_deep" not in by_id  # 100,000 levels deep loads in Node: healthy, untouched
    run = backups.Run(Path(report.backup_dir))
    assert any(fsops.sha256_file(str(p))[0] == fsops.sha256_bytes(junk) for p in run.files_dir.iterdir())
    assert statuses(folder.root)["local_nested_bom"] == HEALTHY


def test_reasons_stay_consistent_after_repair(demo_root, tmp_path):
    """Sessions that were left alone keep their reasons; repaired ones lose theirs."""
    before = {s.id: s for s in scan_of(demo_root).sessions}
    repair_all(demo_root, tmp_path / "backups")
    after = {s.id: s for s in scan_of(demo_root).sessions}
    assert reasons.TMP_ONLY not in {code for s in after.values() if not s.tombstoned for code in s.reasons}
    for session_id, s in before.items():
        if s.status == HEALTHY:
            assert after[session_id].status == HEALTHY


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_record_that_cannot_be_backed_up_is_not_changed(shared_tmp):
    folder = DataFolder(shared_tmp / "Claude")
    secret = folder.json("local_a", b"\0" * 100)  # unloadable, so the .tmp would replace it...
    folder.tmp("local_a")
    for p in (shared_tmp, *shared_tmp.rglob("*")):
        p.chmod(0o777 if p.is_dir() else 0o644)
    secret.chmod(0o200)  # ...but it cannot be read, so it cannot be backed up
    backup_root = shared_tmp / "backups"

    def attempt():
        result = scan_of(folder.root)
        report = plans.execute(repair.plan(result), backup_root)
        return [(r.action, r.outcome, r.detail) for r in report.results]

    results = as_unprivileged(attempt)
    secret.chmod(0o644)
    assert len(results) == 1
    action, outcome, detail = results[0]
    assert (action, outcome) == (repair.LEAVE, plans.SKIPPED) and "could not be read" in detail, results
    assert secret.read_bytes() == b"\0" * 100 and (folder.org / "local_a.json.tmp").exists()


def test_a_failed_backup_stops_the_change(folder, tmp_path, monkeypatch):
    folder.json("local_a", b"\0" * 100)
    folder.tmp("local_a")
    the_plan = repair.plan(scan_of(folder.root))
    real_apply = engine.Engine.apply

    def failing_backups(self, item, on_step=None):
        if item.op == engine.COPY:
            return engine.Result(item, engine.FAILED, "No space left on device")
        return real_apply(self, item, on_step)

    monkeypatch.setattr(engine.Engine, "apply", failing_backups)
    report = plans.execute(the_plan, tmp_path / "backups")
    assert report.results[0].outcome == engine.FAILED and "backup failed" in report.results[0].detail
    assert (folder.org / "local_a.json").read_bytes() == b"\0" * 100 and (folder.org / "local_a.json.tmp").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="uses /proc/self/fd to aim the fault")
def test_a_backup_whose_fsync_fails_is_no_backup_and_its_session_is_not_changed(folder, tmp_path, monkeypatch):
    """A batch's backups are fsync'd together, after they are all written
    and verified, and before any original changes.  A backup whose fsync
    fails is removed, and its session fails, unchanged; the others go on."""
    folder.json("local_a", b"\0" * 100)
    folder.tmp("local_a")
    folder.tmp("local_b")
    the_plan = repair.plan(scan_of(folder.root))
    real_fsync = fsops.full_fsync
    failed: list[str] = []

    def failing_for_a(fd):
        where = os.readlink(f"/proc/self/fd/{fd}")
        if f"{os.sep}files{os.sep}" in where and "local_a." in where:
            failed.append(where)
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(fsops, "full_fsync", failing_for_a)
    report = plans.execute(the_plan, tmp_path / "backups")
    monkeypatch.undo()
    outcomes = {r.id: (r.outcome, r.detail) for r in report.results}
    assert outcomes["local_a"][0] == engine.FAILED and "backup failed" in outcomes["local_a"][1]
    assert "Input/output error" in outcomes["local_a"][1]
    assert outcomes["local_b"][0] == engine.DONE
    assert len(failed) == 2 and not any(map(os.path.lexists, failed))  # no backup that may not be on the disk
    assert (folder.org / "local_a.json").read_bytes() == b"\0" * 100 and (folder.org / "local_a.json.tmp").exists()
    assert not (folder.org / "local_b.json.tmp").exists() and (folder.org / "local_b.json").exists()
    run = backups.find(tmp_path / "backups", None)
    assert [r.outcome for r in undo.undo(run).results] == [engine.DONE]  # only local_b was changed: it goes back
    assert (folder.org / "local_b.json.tmp").exists() and not (folder.org / "local_b.json").exists()


def test_a_job_runs_without_the_cycle_collector_and_gives_it_back(folder, tmp_path, monkeypatch):
    """The collector would walk every scanned record again and again while a
    job makes its few objects per session: it is paused while a plan is made
    and carried out, and running again once the job ends, whichever way."""
    folder.tmp("local_a")
    seen: list[bool] = []
    real_apply = engine.Engine.apply

    def apply(self, item, on_step=None):
        seen.append(gc.isenabled())
        return real_apply(self, item, on_step)

    monkeypatch.setattr(engine.Engine, "apply", apply)
    assert gc.isenabled()
    report = repair_all(folder.root, tmp_path / "backups")
    assert seen == [False, False] and gc.isenabled()  # the backup and the promotion
    assert [r.outcome for r in report.results] == [engine.DONE]

    folder.tmp("local_b")
    real_execute = plans.execute

    def execute(*args, **kwargs):
        seen.append(gc.isenabled())  # the plan was made with the collector paused too
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(plans, "execute", execute)
    job = transaction.Job(Kind.REPAIR, [locations.chosen(folder.root)], tmp_path / "backups", tmp_path / "projects")
    seen.clear()
    done = transaction.run(job, None)
    assert seen[0] is False and gc.isenabled()
    assert done.report is not None and [r.outcome for r in done.report.results] == [engine.DONE]

    def failing(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(plans, "execute", failing)
    folder.tmp("local_c")
    with pytest.raises(OSError):
        transaction.run(job, None)
    assert gc.isenabled()


def test_the_journal_records_every_step(folder, tmp_path):
    folder.tmp("local_a")
    report = repair_all(folder.root, tmp_path / "backups")
    run = backups.Run(Path(report.backup_dir))
    events = list(backups.iter_journal(run))
    names = [e["event"] for e in events]
    assert names[0] == backups.RUN_STARTED and names[-1] == backups.RUN_COMPLETE
    steps = [(Path(e["path"]).name, e["state"]) for e in events if e["event"] == "step"]
    backup_name = next(p.name for p in run.files_dir.iterdir())
    assert steps == [(backup_name, engine.COPIED), (backup_name, engine.VERIFIED), (backup_name, engine.PROMOTED),
                     ("local_a.json", engine.PROMOTED), ("local_a.json", engine.SOURCE_REMOVED)]
    assert backups.describe(run).status == backups.COMPLETE


@pytest.mark.parametrize("text", ["local_a", '/home/zoë/"quoted"\\back/local_a.json', "\ud800 lone", "a\tb\nc\u2028"])
def test_the_journal_lines_a_repair_formats_itself_are_the_ones_journal_line_writes(text):
    """Step and session lines are formatted directly (a repair writes seven
    a session); byte for byte after the time, they are what the one general
    writer gives, whatever the path or id holds."""
    def after_time(line: bytes) -> bytes:
        assert line.startswith(b'{"t":"') and line.endswith(b"}\n")
        stamp = json.loads(line)["t"]  # UTC, to the millisecond, as every time in a run
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
        assert abs(datetime.fromisoformat(stamp.replace("Z", "+00:00")) - datetime.now(UTC)) < timedelta(minutes=1)
        return line.split(b'",', 1)[1]

    encoded = jsjson.stringify(text)
    assert after_time(backups.step_line(encoded, engine.COPIED)) == \
        after_time(backups.journal_line("step", path=text, state=engine.COPIED))
    assert after_time(backups.session_line(backups.BACKED_UP, encoded)) == \
        after_time(backups.journal_line(backups.BACKED_UP, id=text))
    assert after_time(backups.session_line(backups.ACTION_DONE, encoded, engine.SOURCE_KEPT)) == \
        after_time(backups.journal_line(backups.ACTION_DONE, id=text, outcome=engine.SOURCE_KEPT))


def test_a_title_that_is_not_valid_utf8_text_is_repaired_and_undone(folder, tmp_path):
    """JSON may hold a lone surrogate (\\ud800); UTF-8 cannot.  The backup's
    manifest and journal must still record the session, and undo restore it."""
    raw = dump(record("local_odd", title="x")).replace(b'"title":"x"', b'"title":"\\ud800 odd"')
    folder.tmp("local_odd", raw)
    report = repair_all(folder.root, tmp_path / "backups")
    assert [r.outcome for r in report.results] == [engine.DONE]
    assert (folder.org / "local_odd.json").read_bytes() == raw
    run = backups.find(tmp_path / "backups", None)
    assert run.manifest().actions[0].title == "\ud800 odd"
    assert [r.outcome for r in undo.undo(run).results] == [engine.DONE]
    assert (folder.org / "local_odd.json.tmp").read_bytes() == raw

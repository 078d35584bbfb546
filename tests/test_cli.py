"""The CLI, run as a separate process, exactly as a user or a script runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core import reasons

from conftest import ROOT, as_unprivileged, posix_only, run_cli

CONTRACT_SESSION_KEYS = {"id", "status", "reasons", "account", "org", "active", "json_path", "tmp_path", "title",
                         "cwd", "created_at", "last_activity", "size", "cli_session_id", "transcript_found",
                         "opens", "fix"}


# An SSH session: no X, no Wayland, no Qt platform chosen.  (The window's own
# tests run offscreen; see test_gui.py.)
NO_DISPLAY = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "Claude"
    done = run_cli("demo", str(path))
    assert done.returncode == 0, done.stderr
    return path


def test_scan_json_keeps_the_documented_contract(demo_dir):
    done = run_cli("scan", "--data-dir", str(demo_dir), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"data_dirs", "sessions", "transcript_only", "links", "summary", "notes"}
    assert {"path", "install_type", "active_account", "active_folder", "main_log", "notes"} <= set(doc["data_dirs"][0])
    assert doc["data_dirs"][0]["active_account"] == "7f3c2a9e-5b1d-4c8e-9a26-3e0f4d6b8c21"
    statuses = ("healthy", "orphaned", "corrupt", "deleted")
    for session in doc["sessions"]:
        assert set(session) >= CONTRACT_SESSION_KEYS
        assert session["status"] in statuses
        assert session["opens"] in (True, False, None) and session["fix"] in (None, "repair", "adopt", "rebuild")
        if session["opens"] is None:  # cannot be known here (class T2): the record decides, and it says why
            assert "transcript-id-mismatch" in session["reasons"] and session["status"] == "healthy"
        else:
            assert session["opens"] is (session["status"] == "healthy" and session["fix"] is None)
    counts = {k: sum(s["status"] == k for s in doc["sessions"]) for k in statuses}
    assert doc["summary"] == {**counts, "transcript-only": len(doc["transcript_only"])} and all(counts.values())
    # the records whose conversation is where Claude Desktop looks (one of them a stub only)
    assert sum(s["transcript_found"] for s in doc["sessions"]) == 18
    assert {t["title"] for t in doc["transcript_only"]} == {"Full-text search for orders", "Benchmark JSON parsers",
                                                           "Redesign onboarding emails",
                                                           "Cache exchange rates, please.", None}
    assert [link["title"] for link in doc["links"]] == ["Redesign onboarding emails", "Cache exchange rates"]


def test_scan_prints_a_table_and_a_summary_line(demo_dir):
    done = run_cli("scan", "--data-dir", str(demo_dir))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Data folder: {demo_dir}")
    assert any(line.startswith("orphaned") and "Refactor payment module" in line for line in lines)
    summary = next(line for line in lines if " sessions in 1 data folder: " in line)
    assert "healthy" in summary and "orphaned" in summary and "corrupt" in summary
    found = next(line for line in lines if "Full-text search for orders  in " in line)
    assert "D:\\work\\billing-api" in found and "4 turns" in found and "claude-opus-5" in found
    # the stub holds nothing to rebuild; the two proposed for a link are counted as links
    assert "2 transcripts have no record and can be rebuilt" in summary and "2 records lost the link" in summary
    assert "1 once its conversation is copied from its SSH host" in summary
    # The next command, with the folder this scan was given, ready to paste.
    assert f"conversation, run: session-rescue rebuild --data-dir {demo_dir}\n" in done.stdout


def test_several_data_dirs_are_scanned_together(demo_dir, tmp_path):
    other = tmp_path / "second"
    assert run_cli("demo", str(other)).returncode == 0
    one = json.loads(run_cli("scan", "--data-dir", str(demo_dir), "--json").stdout)
    for args in (["--data-dir", str(demo_dir), str(other)], ["--data-dir", str(demo_dir), "--data-dir", str(other)]):
        doc = json.loads(run_cli("scan", *args, "--json").stdout)
        assert [d["path"] for d in doc["data_dirs"]] == [str(demo_dir), str(other)]
        assert len(doc["sessions"]) == 2 * len(one["sessions"])


def test_scan_is_the_same_read_twice(demo_dir):
    first = run_cli("scan", "--data-dir", str(demo_dir), "--json").stdout
    assert run_cli("scan", "--data-dir", str(demo_dir), "--json").stdout == first


@pytest.mark.parametrize("args, says", [
    (["scan", "--data-dir", "/no/such/folder"], "--data-dir /no/such/folder: no such folder"),
    (["scan", "--projects-dir", "/no/such/folder"], "--projects-dir /no/such/folder: no such folder"),
    (["frobnicate"], "'frobnicate' is not a command"),
    (["scan", "--bogus"], "unrecognized arguments: --bogus"),
    (["demo"], "required: DIR"),
    (["scan", "--data-dir", __file__], "not a folder"),
])
def test_a_usage_error_is_one_line_and_exit_code_2(args, says):
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    done = run_cli("demo", str(tmp_path))
    assert done.returncode == 2 and "not empty" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@posix_only  # on Windows the known-folder API, not the environment, says where AppData is
def test_without_a_display_and_claude_data_the_app_lists_the_demo(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "APPDATA": str(tmp_path),
           "LOCALAPPDATA": str(tmp_path), **NO_DISPLAY}
    done = run_cli(env=env)
    assert done.returncode == 0, done.stderr
    assert "No display here" in done.stdout
    assert "No Claude Desktop sessions were found" in done.stdout and "demo data" in done.stdout
    assert str(tmp_path / ".config" / "Claude") in done.stdout  # it says where it looked
    assert "Refactor payment module" in done.stdout


@posix_only  # on Windows the known-folder API, not the environment, says where AppData is
def test_without_a_display_the_app_lists_this_computers_sessions(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), **NO_DISPLAY}
    assert run_cli("demo", str(tmp_path / ".config" / "Claude")).returncode == 0
    done = run_cli(env=env)
    assert done.returncode == 0, done.stderr
    assert "demo data" not in done.stdout and "Data folder: " + str(tmp_path / ".config" / "Claude") in done.stdout


@posix_only  # on Windows the known-folder API, not the environment, says where AppData is
def test_scan_without_any_data_says_where_it_looked(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    done = run_cli("scan", "--json", env=env)
    assert done.returncode == 0
    assert json.loads(done.stdout)["sessions"] == [] and "Looked in" in done.stderr


def test_reasons_are_explained_in_words(demo_dir):
    out = run_cli("scan", "--data-dir", str(demo_dir)).stdout
    assert reasons.describe(reasons.TMP_ONLY) in out and reasons.describe(reasons.ZERO_FILLED) in out


def test_version_and_help():
    assert run_cli("--version").stdout.startswith("session-rescue ")
    helped = run_cli("--help")
    assert helped.returncode == 0 and "scan" in helped.stdout and "demo" in helped.stdout


def test_every_command_says_in_its_help_what_it_does():
    from app import cli

    for name, (texts, _) in cli._SUBCOMMANDS.items():
        helped = sub_help(cli.build_parser(name), name)
        assert texts.get("description") and texts["description"][:30] in " ".join(helped.split()), name


def test_a_mistyped_command_or_choice_is_answered_with_the_one_meant():
    typo = run_cli("reapir")
    assert typo.returncode == 2 and "did you mean 'repair'?" in typo.stderr
    assert len(typo.stderr.strip().splitlines()) == 1
    choice = run_cli("autostart", "enabel")
    assert choice.returncode == 2 and "did you mean 'enable'?" in choice.stderr
    far = run_cli("runs")  # like none of them: no guess
    assert far.returncode == 2 and "did you mean" not in far.stderr
    option = run_cli("scan", "--jsn")
    assert option.returncode == 2 and "did you mean '--json'?" in option.stderr


def test_a_usage_error_points_to_the_help_of_the_command_it_is_about():
    wrong = run_cli("export", "x", "--format", "mdd")
    assert wrong.returncode == 2 and "(see 'session-rescue export --help')" in wrong.stderr
    assert "--format takes 'md', 'html', not 'mdd'" in wrong.stderr and "argument" not in wrong.stderr
    missing = run_cli("autostart")
    assert missing.returncode == 2 and "say which: enable, disable, status" in missing.stderr
    unknown = run_cli("repair", "--yse", "extra\nline")  # found by the whole line's parser
    assert unknown.returncode == 2 and "(see 'session-rescue repair --help')" in unknown.stderr
    assert "did you mean '--yes'?" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1


def test_the_help_names_the_default_backup_folder_though_no_command_works_it_out_before_it_runs(tmp_path):
    """The folder is worked out only when a help text shows it (platformdirs
    is not every command's start-up)."""
    home = tmp_path / "home"
    wide = {"HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": "1000"}  # no wrapping
    helped = run_cli("repair", "--help", env=wide, timeout=60)
    assert helped.returncode == 0
    assert helped.stdout.count(f"(default: {tmp_path / 'xdg' / 'Session Rescue' / 'backups'})") == 1
    probe = ("import sys, app.cli as cli; cli.build_parser(); print(sorted(m for m in "
             "('platformdirs', 'hashlib', 'tempfile', 'uuid', 'traceback') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_hostile_title_cannot_drive_the_terminal(tmp_path):
    org = tmp_path / "Claude" / "claude-code-sessions" / "a" / "o"
    org.mkdir(parents=True)
    title = "\x1b[2J\x1b]0;pwned\x07Clear screen\rand\nnewline"
    (org / "local_x.json").write_text(json.dumps({"sessionId": "local_x", "title": title, "createdAt": 1,
                                                   "lastActivityAt": 2}))
    done = run_cli("scan", "--data-dir", str(tmp_path / "Claude"))
    assert done.returncode == 0
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\r" not in done.stdout
    assert "Clear screen" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("healthy"))
    assert "newline" in row or "…" in row  # the title stays on its own row


@posix_only
def test_a_data_dir_behind_a_locked_folder_is_a_usage_error(shared_tmp):
    import contextlib
    import io

    from app import cli

    target = shared_tmp / "locked" / "Claude"
    target.mkdir(parents=True)
    (shared_tmp / "locked").chmod(0o000)

    def attempt():
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = cli.main(["scan", "--data-dir", str(target)])
        return [code, err.getvalue()]

    code, err = as_unprivileged(attempt)
    assert code == 2 and err.count("\n") == 1 and "cannot be opened (Permission denied)" in err


def test_the_same_folder_named_twice_is_repaired_once(tmp_path):
    folder = tmp_path / "Claude"
    assert run_cli("demo", str(folder)).returncode == 0
    done = run_cli("repair", "--data-dir", str(folder), str(folder) + os.sep, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    ids = [r["id"] for r in json.loads(done.stdout)["results"]]
    assert ids and len(ids) == len(set(ids))


def test_undo_and_backups_find_the_demo_datas_own_backups_from_its_folder(tmp_path):
    folder = tmp_path / "Claude"
    assert run_cli("demo", str(folder)).returncode == 0
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert run_cli("repair", "--data-dir", str(folder), "-y").returncode == 0
    listed = run_cli("backups", "--data-dir", str(folder))
    assert listed.returncode == 0 and "repair  complete" in listed.stdout, listed.stdout
    done = run_cli("undo", "--data-dir", str(folder), "--last", "-y")
    assert done.returncode == 0 and "put back as they were" in done.stdout, done.stdout + done.stderr
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and "session-rescue-backups" not in p.parts}
    assert after == before


def test_a_data_dir_before_the_session_id_does_not_swallow_it(demo_dir):
    done = run_cli("export", "--data-dir", str(demo_dir), "local_9ecef142-ddf2-5478-9213-5d2158d38ac7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Sketch the invoice PDF layout")
    done = run_cli("resume-command", "--data-dir", str(demo_dir), "9ecef142-ddf2-5478-9213-5d2158d38ac7",
                   "--shell", "sh")
    assert done.returncode == 0 and "--resume" in done.stdout, done.stderr


def test_an_id_as_the_scan_table_shows_it_cut_short_is_enough(demo_dir):
    table = run_cli("scan", "--data-dir", str(demo_dir)).stdout
    shown = next(line.split()[1] for line in table.splitlines() if "Sketch the invoice PDF layout" in line)
    assert shown.endswith("…")
    done = run_cli("export", "--data-dir", str(demo_dir), shown)
    assert done.returncode == 0 and done.stdout.startswith("# Sketch the invoice PDF layout"), done.stderr
    done = run_cli("repair", "--dry-run", "--data-dir", str(demo_dir), "--session", shown[6:14])
    assert done.returncode == 0 and "1 session would be repaired" in done.stdout, done.stderr
    too_short = run_cli("repair", "--dry-run", "--data-dir", str(demo_dir), "--session", shown[6:12])
    assert too_short.returncode == 2 and "give at least 7 characters of its id" in too_short.stderr
    assert too_short.stderr.count("\n") == 1  # one sentence


def test_a_short_id_that_begins_several_sessions_is_refused_in_one_sentence():
    from app.core.records import AmbiguousId, complete_id

    known = ["9ecef142-aaaa", "9ecef142-bbbb", "0640ca29-cccc"]
    assert complete_id("0640ca2", known) == "0640ca29-cccc"
    assert complete_id("abcdef", known) == "abcdef"  # begins no id: unknown
    with pytest.raises(AmbiguousId, match="give at least 7 characters"):  # begins one, but too short to be sure
        complete_id("0640ca", known)
    with pytest.raises(AmbiguousId, match="begins 2 session ids"):
        complete_id("9ecef142…", known)


def test_the_why_not_list_stays_short_when_thousands_do_not_open(tmp_path):
    from conftest import DataFolder

    folder = DataFolder(tmp_path / "Claude")
    projects = tmp_path / "projects"
    projects.mkdir()
    for n in range(30):  # each has turns, but its conversation is nowhere: it loads, and does not open
        folder.json(f"local_{n:08d}-0000-4000-8000-000000000000", cliSessionId=f"{n:08d}-1111-4111-8111-111111111111",
                    completedTurns=3)
    out = run_cli("scan", "--data-dir", str(folder.root), "--projects-dir", str(projects)).stdout
    why_not = out.split("These load, but do not open in Claude Desktop:")[1]
    assert why_not.count("\n  local_") == 20 and "… and 10 more" in why_not


def test_a_command_parsed_on_its_own_parser_is_parsed_as_the_whole_command_line_would():
    """main() builds only the parser of the command it runs (start-up time);
    every command must read its arguments and show its help exactly as with
    the whole command line built."""
    from app import cli

    whole = cli.build_parser()
    samples = {"scan": ["--json", "--data-dir", "a", "b"], "demo": ["d"], "export": ["x", "--format", "html"],
               "resume-command": ["x", "--shell", "sh"], "repair": ["--session", "s", "--dry-run", "-y"],
               "rebuild": ["--mirror", "s", "f"], "undo": ["--last", "--data-dir", "a"],
               "backups": ["prune", "--keep-days", "3"], "watch": ["--interval", "0.5"], "autostart": ["status"]}
    for name in cli._SUBCOMMANDS:
        alone = cli.build_parser(name)
        words = [name, *samples.get(name, [])]
        assert alone.parse_args(words) == whole.parse_args(words), name
        assert sub_help(alone, name) == sub_help(whole, name), name
    assert cli._wanted_command(["scan", "--json"]) == "scan"
    assert cli._wanted_command(["--version"]) is None and cli._wanted_command(["bogus"]) is None
    # A double-click's empty command line: no command's parser (the window opens all the same).
    assert cli._wanted_command([]) == "" and cli.build_parser("").parse_args([]) == whole.parse_args([])


def sub_help(parser, name: str) -> str:
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    return commands.choices[name].format_help()


def test_the_next_command_scan_names_can_be_pasted_as_it_is(tmp_path):
    """The hint repeats the folder the scan was given, quoted for the shell
    when it holds a space: pasted, it acts on the same sessions."""
    from app.core import demo

    folder = demo.write_demo(tmp_path / "my demo" / "Claude").path
    out = run_cli("scan", "--data-dir", str(folder)).stdout
    command = out.split("To bring back the sessions marked for repair, run: ")[1].split(" (it shows")[0]
    import shlex

    words = shlex.split(command)
    assert words[:2] == ["session-rescue", "repair"] and words[2:] == ["--data-dir", str(folder)]
    dry = run_cli(*words[1:], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Nothing was changed" not in dry.stdout and "without --dry-run" in dry.stdout


def test_the_start_pauses_the_cycle_collector_until_a_command_runs(monkeypatch):
    """app/__main__.py pauses the collector while the app starts (its imports
    make no garbage); a command has it back before it runs, the window once
    it shows its sessions (app.gui.app, on ready).  A collector paused by
    someone else is left paused."""
    import gc

    from app import cli
    from app.core import collector

    seen: list[tuple[str | None, bool]] = []
    monkeypatch.setattr(cli, "command", lambda name: lambda args: seen.append((name, gc.isenabled())) or 0)
    try:
        for words in (["scan"], ["gui"], []):
            collector.hold_start()
            assert not gc.isenabled()
            assert cli.main(words) == 0
            collector.release_start()
            assert gc.isenabled()
        gc.disable()
        collector.hold_start()
        collector.release_start()
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [("scan", True), ("gui", False), (None, False)]

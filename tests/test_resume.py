"""The command that continues a session with Claude Code in a terminal: one
line per platform, which takes the shell into exactly the session's folder
and runs exactly ``claude --resume <id>``, whatever the folder is called."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core import export, locations, resume, slug
from app.core.scan import scan

from conftest import T0, DataFolder, posix_only, run_cli

SID = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
STEM = "local_0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

# Folder names a shell would act on if they were not quoted (or quoted badly).
HOSTILE = [
    "with space", "  leading and trailing  ", "it's", "'", "''", "'\\''", "a\\'b", '"double"', "back\\slash",
    "$(touch PWNED-1)", "`touch PWNED-2`", "x; touch PWNED-3", "x && touch PWNED-4", "x | touch PWNED-5",
    "x > PWNED-6", "$HOME", "${HOME}", "~", "~root", "*", "?", "[a-z]", "{a,b}", "!!", "#not a comment", "%s%n",
    "-", "--", "-rf", "-P", "--help", "=", "a=b", "\u00fcn\u00ef c\u00f6d\u00e9 \u65e5\u672c \U0001f600",
    "O\u2019Brien \u2018quoted\u2019 \u201alow\u201b", "\u201cdouble curly\u201d", "\u00a0nbsp",
    "' ; touch PWNED-7 ; '", "x'$(touch PWNED-8)'", "\\", ";", "&", "|", "(", ")", "<", ">",
]
# Characters no pasted command may carry: refused, never quoted.
UNSAFE = ["new\nline", "carriage\rreturn", "tab\there", "esc\x1b[2Jape", "bell\x07", "del\x7f", "c1\x9b31m",
          "bidi\u202egnp.exe", "isolate\u2066x\u2069", "zero\u200bwidth", "bom\ufeff", "line\u2028separator"]


def fake_claude(bin_dir: Path) -> Path:
    """A ``claude`` that reports where it was started and with what, as JSON."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "claude"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      "print(json.dumps({'cwd': os.getcwd(), 'args': sys.argv[1:]}))\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def run_in(shell: list[str], command: str, bin_dir: Path, start: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(start)}
    env.pop("CDPATH", None)
    return subprocess.run([*shell, command], cwd=start, env=env, capture_output=True, text=True, timeout=60)


def transcript_only_session(tmp_path: Path, cwd: str, sid: str = SID):
    """A transcript with no record, held in the projects folder named for ``cwd``."""
    projects = tmp_path / "projects"
    folder = projects / slug.slug(cwd)
    folder.mkdir(parents=True, exist_ok=True)
    line = {"type": "user", "sessionId": sid, "cwd": cwd, "timestamp": "2026-08-27T19:11:18.676Z",
            "message": {"role": "user", "content": "Go on."}}
    (folder / f"{sid}.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = scan([locations.chosen(str(DataFolder(tmp_path / "Claude").root))], projects)
    found = export.find_session(result, sid)
    assert found is not None
    return found


def posix_shells() -> list[str]:
    return [name for name in ("sh", "dash", "bash", "zsh", "ksh", "mksh") if shutil.which(name)]


# ----------------------------------------------------------- per platform


def test_the_command_per_platform(tmp_path):
    session = transcript_only_session(tmp_path, "/home/ana/it's here")
    for platform in ("linux", "darwin", "freebsd14"):
        found = resume.resume_command(session, platform)
        assert (found.shell, found.command, found.reason, found.note) == (
            "sh", f"cd -- '/home/ana/it'\\''s here' && claude --resume {SID}", None, None)
    found = resume.resume_command(session, "win32")
    assert (found.shell, found.command) == (
        "powershell", f"Set-Location -LiteralPath '/home/ana/it''s here' -ErrorAction Stop; claude --resume '{SID}'")
    assert found.note == "Its folder is a path of another kind of system: run the command on the computer it ran on."
    windows = transcript_only_session(tmp_path / "w", "C:\\Users\\O\u2019Brien\\[shop] $(x)")
    assert resume.resume_command(windows, "win32").command == (
        "Set-Location -LiteralPath 'C:\\Users\\O\u2019\u2019Brien\\[shop] $(x)' -ErrorAction Stop; "
        f"claude --resume '{SID}'")
    assert resume.resume_command(windows, "win32").note is None


def test_the_folder_is_the_one_whose_projects_folder_holds_the_conversation(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    projects = tmp_path / "projects"
    moved_to = "/home/ana/shop/split"  # the transcript's own lines say where Claude Code ran
    conv = projects / slug.slug(moved_to) / f"{SID}.jsonl"
    conv.parent.mkdir(parents=True)
    conv.write_text(json.dumps({"type": "user", "cwd": moved_to, "timestamp": "2026-08-27T19:11:18Z",
                                "message": {"role": "user", "content": "hi"}}) + "\n", encoding="utf-8")
    folder.json(STEM, cliSessionId=SID, cwd="/home/ana/shop", createdAt=T0, lastActivityAt=T0 + 1)
    session = export.find_session(scan([locations.chosen(str(folder.root))], projects), STEM)
    found = resume.resume_command(session, "linux")
    assert (found.command, found.note) == (f"cd -- '/home/ana/shop/split' && claude --resume {SID}", None)


def test_no_command_without_a_conversation_or_a_safe_folder(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    folder.json(STEM, completedTurns=0)
    session = export.find_session(scan([locations.chosen(str(folder.root))], tmp_path / "projects"), STEM)
    assert resume.resume_command(session, "linux").reason == ("It has no conversation yet, so there is nothing to "
                                                              "resume.")
    relative = transcript_only_session(tmp_path / "r", "shop")
    assert resume.resume_command(relative, "linux").reason == (
        "No command can be given: the folder it ran in is not a full path.")
    for name in UNSAFE:
        session = transcript_only_session(tmp_path / str(UNSAFE.index(name)), f"/home/ana/{name}")
        for platform in ("linux", "win32"):
            found = resume.resume_command(session, platform)
            assert found.command is None, repr(name)
            assert found.reason == ("No command can be given: the name of its folder holds a control or invisible "
                                    "character, which a command pasted into a terminal cannot carry safely.")


@pytest.mark.parametrize("transcript_id", ["not-a-uuid", f"{SID}; rm -rf ~", f"{SID}\n", f"'{SID}'", "$(id)",
                                           f"{SID[:-1]}g", f"{{{SID}}}", SID.replace("-", "")])
def test_an_id_that_is_not_a_uuid_is_never_put_in_a_command(transcript_id):
    for shell in resume.SHELLS:
        with pytest.raises(resume.UnsafeCommand, match="not named by a session id"):
            resume.command_line(transcript_id, "/home/ana", shell)
    assert resume.command_line(SID.upper(), "/home/ana", "sh") == f"cd -- '/home/ana' && claude --resume {SID.upper()}"


# ------------------------------------------------- hostile names, really run


@posix_only
@pytest.mark.parametrize("shell", posix_shells())
def test_hostile_folder_names_take_the_shell_exactly_there_and_run_nothing_else(tmp_path, shell):
    bin_dir = tmp_path / "bin"
    fake_claude(bin_dir)
    start = tmp_path / "start"
    start.mkdir()
    for i, name in enumerate(HOSTILE):
        target = tmp_path / f"case{i}" / name
        target.mkdir(parents=True)
        session = transcript_only_session(tmp_path / f"data{i}", str(target))
        found = resume.resume_command(session, "linux")
        assert found.command is not None and found.note is None, (name, found)
        done = run_in([shell, "-c"], found.command, bin_dir, start)
        assert (done.returncode, done.stderr) == (0, ""), (name, done)
        ran = json.loads(done.stdout)  # one line: claude ran once, and nothing else printed
        assert ran == {"cwd": str(target.resolve()), "args": ["--resume", SID]}, name
    assert not list(tmp_path.rglob("PWNED*")) and not list(Path.cwd().glob("PWNED*"))


@posix_only
def test_the_cli_prints_a_command_that_sh_runs_as_intended(tmp_path):
    target = tmp_path / "it's $(touch PWNED) `x` -rf"
    target.mkdir()
    session = transcript_only_session(tmp_path, str(target))
    projects, data = tmp_path / "projects", tmp_path / "Claude"
    done = run_cli("resume-command", session.id, "--data-dir", str(data), "--projects-dir", str(projects))
    assert (done.returncode, done.stderr) == (0, "")
    command = done.stdout.removesuffix("\n")
    assert "\n" not in command
    bin_dir = tmp_path / "bin"
    fake_claude(bin_dir)
    ran = run_in(["sh", "-c"], command, bin_dir, tmp_path)
    assert json.loads(ran.stdout) == {"cwd": str(target.resolve()), "args": ["--resume", SID]}
    assert not list(tmp_path.rglob("PWNED*"))
    done = run_cli("resume-command", session.id, "--data-dir", str(data), "--projects-dir", str(projects),
                   "--shell", "powershell")
    assert done.returncode == 0
    assert done.stdout == (f"Set-Location -LiteralPath {resume.quote_powershell(str(target))} -ErrorAction Stop; "
                           f"claude --resume '{SID}'\n")
    assert "/it''s $(touch PWNED) `x` -rf' " in done.stdout
    assert done.stderr == ("note: Its folder is a path of another kind of system: run the command on the computer "
                           "it ran on.\n")


def test_the_cli_says_in_one_sentence_why_there_is_no_command(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    folder.json(STEM, completedTurns=0)
    folder.json("local_9a9a9a9a-0000-4000-8000-000000000000", b"\0" * 100)
    projects = tmp_path / "projects"
    projects.mkdir()
    for wanted, code, said in [
            (STEM, 1, "It has no conversation yet, so there is nothing to resume."),
            ("local_9a9a9a9a-0000-4000-8000-000000000000", 1, "Its record is too damaged to say which transcript "
             "holds its conversation, so there is nothing to resume."),
            ("local_ffffffff-0000-4000-8000-000000000000", 2, "no session or transcript "
             "“local_ffffffff-0000-4000-8000-000000000000” was found (see 'session-rescue scan' for the ids; the "
             "first 8 characters of one are enough)")]:
        done = run_cli("resume-command", wanted, "--data-dir", str(folder.root), "--projects-dir", str(projects))
        assert (done.returncode, done.stdout, done.stderr) == (code, "", f"session-rescue: {said}\n")


# ------------------------------------------------------------- PowerShell


def powershell_string(text: str) -> tuple[str, int]:
    """A single-quoted string literal at the start of ``text``, read by
    PowerShell's own rule (its tokenizer's ScanStringLiteral): any of the
    five single-quote characters ends it, unless another follows, and then
    the pair stands for the second.  Returns its value and where it ends."""
    quotes = "'\u2018\u2019\u201a\u201b"
    assert text[0] in quotes
    value, i = [], 1
    while i < len(text):
        c = text[i]
        if c in quotes:
            if i + 1 < len(text) and text[i + 1] in quotes:
                value.append(text[i + 1])
                i += 2
                continue
            return "".join(value), i + 1
        value.append(c)
        i += 1
    raise AssertionError(f"unterminated string in {text!r}")


def test_powershell_reads_back_exactly_the_folder_and_nothing_more():
    prefix = "Set-Location -LiteralPath "
    for name in [*HOSTILE, "O\u2019Brien", "\u2018\u2019\u201a\u201b'", "end'", "`$(calc)`", "'; calc; '",
                 "\u2019; calc; \u2018"]:
        folder = f"C:\\Users\\{name}"
        command = resume.command_line(SID, folder, resume.POWERSHELL)
        assert command.startswith(prefix)
        value, end = powershell_string(command[len(prefix):])
        assert value == folder, name
        rest = command[len(prefix) + end:]
        assert rest == " -ErrorAction Stop; claude --resume " + resume.quote_powershell(SID)


@posix_only  # the stand-in claude is a script with a #! line
@pytest.mark.skipif(shutil.which("pwsh") is None, reason="PowerShell (pwsh) is not installed here: the quoting is "
                    "checked by PowerShell's tokenizer rule above instead")
def test_hostile_folder_names_take_powershell_exactly_there(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_claude(bin_dir)
    for i, name in enumerate(HOSTILE):
        target = tmp_path / f"case{i}" / name
        target.mkdir(parents=True)
        command = resume.command_line(SID, str(target), resume.POWERSHELL)
        done = run_in(["pwsh", "-NoProfile", "-NonInteractive", "-Command"], command, bin_dir, tmp_path)
        assert done.returncode == 0, (name, done)
        assert json.loads(done.stdout) == {"cwd": str(target.resolve()), "args": ["--resume", SID]}, name
    assert not list(tmp_path.rglob("PWNED*"))

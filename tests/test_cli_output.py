"""Nothing the CLI prints lets an untrusted string (a title, a file or folder
name, a transcript, a backup manifest) drive or spoof the terminal: no raw
control character, no bidi control.  ``--json`` stays valid JSON that parses
to the very same strings.

The CLI runs as a separate process, as a user runs it, and its output is read
as bytes: ``run_cli`` reads in text mode, whose universal newlines turn every
``\\r`` into ``\\n`` and so would hide one."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core import demo, seal

from conftest import ROOT, T0, DataFolder, posix_only, run_cli

BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069"]
# What must never reach the terminal raw: C0 but newline and tab, DEL, C1, bidi.
DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(BIDI) + "]")
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x9b31m\r"  # clear screen, window title, C1 CSI, carriage return

TITLE_ESC = ESCAPES + "Visible-A"
TITLE_BIDI = "".join(BIDI) + "Visible-B"
CWD = "/home/\x1b[2Jana\u202e\r\x9b/repo"
TRANSCRIPT_ID = "eeeeeeee-5555-4555-8555-555555555555"
TRANSCRIPT_REQUEST = "\u2067Visible-C\x1b[31m"


def run_bytes(*args: str, stdin: int | None = subprocess.DEVNULL) -> tuple[int, str, str]:
    """The CLI as run_cli runs it, but stdout and stderr exactly as written."""
    env = dict(os.environ)
    env.pop("SESSION_RESCUE_DEBUG", None)
    env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, env=env, timeout=120,
                          stdin=stdin, check=False)
    return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")


def raw_dangers(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in DANGEROUS.findall(text)})


def same_or_neutralised(got: str, want: str) -> bool:
    """``got`` is ``want``, or ``want`` with some dangerous characters replaced
    by U+FFFD (JSON written with json.dump through the sanitising stream)."""
    return len(got) == len(want) and all(g == w or (g == "\ufffd" and DANGEROUS.match(w))
                                         for g, w in zip(got, want, strict=True))


def hostile_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A data folder (itself with a hostile name) whose records and transcript
    carry escape sequences and bidi controls; and its projects folder."""
    folder = DataFolder(tmp_path / "Cla\u202eude\x1b[31m")
    folder.json("local_esc", title=TITLE_ESC, cwd=CWD, originCwd=CWD)
    folder.json("local_bidi", title=TITLE_BIDI, cwd=CWD)
    projects = tmp_path / "projects"
    lines = demo.conversation(TRANSCRIPT_ID, CWD, TRANSCRIPT_REQUEST, T0, T0 + 600_000)
    path = projects / "hostile-project" / f"{TRANSCRIPT_ID}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    return folder.root, projects


def test_scan_table_prints_no_escape_sequence_nor_bidi_control(tmp_path: Path) -> None:
    data, projects = hostile_folder(tmp_path)
    code, out, err = run_bytes("scan", "--data-dir", str(data), "--projects-dir", str(projects))
    assert code == 0, err
    assert raw_dangers(out) == [] and raw_dangers(err) == []
    for visible in ("Visible-A", "Visible-B", "Visible-C", "[2J", "]0;pwned", "31m"):
        assert visible in out
    assert "ana" in out and "/repo" in out  # the transcript's cwd, neutralised, not dropped


def test_scan_json_keeps_every_string_exactly_and_escapes_the_dangerous_ones(tmp_path: Path) -> None:
    data, projects = hostile_folder(tmp_path)
    code, out, err = run_bytes("scan", "--json", "--data-dir", str(data), "--projects-dir", str(projects))
    assert code == 0, err
    assert raw_dangers(out) == []
    assert "\\u202e" in out and "\\u009b" in out  # escaped, not replaced
    doc = json.loads(out)
    sessions = {s["id"]: s for s in doc["sessions"]}
    assert sessions["local_esc"]["title"] == TITLE_ESC and sessions["local_esc"]["cwd"] == CWD
    assert sessions["local_bidi"]["title"] == TITLE_BIDI
    assert Path(doc["data_dirs"][0]["path"]) == data
    (transcript,) = doc["transcript_only"]
    assert transcript["cwd"] == CWD and transcript["title"] == TRANSCRIPT_REQUEST


def test_repair_json_stays_valid_json_without_a_raw_dangerous_character(tmp_path: Path) -> None:
    # Written by repair_commands' own json.dump until it calls emit_json: then
    # the id comes back exactly; until then, neutralised, but valid JSON.
    stem = "local_" + ESCAPES + "\u202eid"
    folder = DataFolder(tmp_path / "Claude")
    folder.tmp(stem, title=TITLE_BIDI)
    code, out, err = run_bytes("repair", "--dry-run", "--json", "--data-dir", str(folder.root),
                               "--backup-dir", str(tmp_path / "b"))
    assert code == 0, err
    assert raw_dangers(out) == [] and raw_dangers(err) == []
    (result,) = json.loads(out)["results"]
    assert same_or_neutralised(result["id"], stem)


# Backup runs planted by hand.  A folder named like a run, whose manifest says
# when it was made (and what kind of run it was) in escape sequences; and
# folders whose very names are hostile (a version that lists only folders
# named like runs skips those, and says there is no such run).
RUN_OK = "20250101-000000.000-ab12"
RUN_BAD_KIND = "20250101-000000.001-cd34"
RUN_NAMED = "20250101-000000.002-" + ESCAPES + "\u202edone"
RUN_CUT = "20250101-000000.003-" + "".join(BIDI) + "\x1b[31mcut"
KIND = "\x1b[2J" + "\u202e" + "repair\x9b"
CREATED = "\x1b]0;pwned\x07\u2066" + "2025-01-01T00:00:00.000Z"


def plant_runs(root: Path) -> None:
    """Complete runs, and one a kill cut short (no journal: undone first by
    any undo), all with hostile manifests or names, sealed as this user's
    Session Rescue seals its own (so they are listed and undone, not set
    aside as damaged)."""
    for name, kind, complete in ((RUN_OK, "repair", True), (RUN_BAD_KIND, KIND, True),
                                 (RUN_NAMED, "repair", True), (RUN_CUT, "repair", False)):
        run = root / name
        (run / "files").mkdir(parents=True)
        manifest = {"format": 1, "run_id": name, "kind": kind, "created": CREATED,
                    "tool": "session-rescue 1.0", "owner": None, "actions": []}
        raw = json.dumps(manifest).encode("utf-8")
        (run / "manifest.json").write_bytes(raw)
        (run / "manifest.seal").write_text(seal.seal(raw))
        if complete:
            events = [{"t": CREATED, "event": "run-started"}, {"t": CREATED, "event": "run-complete"}]
            (run / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")


def test_backups_and_undo_print_no_escape_sequence_nor_bidi_control(tmp_path: Path) -> None:
    root = tmp_path / "b"
    plant_runs(root)
    code, out, err = run_bytes("backups", "--backup-dir", str(root))
    assert code in (0, 1, 2) and "Traceback" not in err, err
    assert raw_dangers(out) == [] and raw_dangers(err) == []
    assert RUN_OK in out

    code, out, err = run_bytes("backups", "--json", "--backup-dir", str(root))
    assert code in (0, 1, 2) and "Traceback" not in err, err
    assert raw_dangers(out) == [] and raw_dangers(err) == []
    runs = {r["run_id"]: r for r in json.loads(out)["runs"]}
    assert same_or_neutralised(runs[RUN_OK]["created"], CREATED)

    for run in (RUN_NAMED, RUN_OK):
        code, out, err = run_bytes("undo", run, "--yes", "--ignore-running", "--backup-dir", str(root))
        assert code in (0, 1, 2) and "Traceback" not in err, err
        assert raw_dangers(out) == [] and raw_dangers(err) == []
        assert (out + err).strip()


@posix_only
def test_the_undo_question_at_a_terminal_shows_no_escape_sequence(tmp_path: Path) -> None:
    # At a terminal, input() hands its prompt to the C library, not to
    # sys.stdout; the prompt names the run, whose folder name anyone can pick.
    # (A version that never asks about a run so named passes trivially; the
    # unit test of sanitised_console below covers the mechanism.)
    root = tmp_path / "b"
    plant_runs(root)
    (root / RUN_CUT / "manifest.json").unlink()  # nothing to recover first
    code, text = at_a_terminal(["undo", RUN_NAMED, "--ignore-running", "--backup-dir", str(root)], answer=b"n\n")
    assert code in (0, 1, 2) and "Traceback" not in text, text
    assert raw_dangers(text) == []
    assert text.strip()


def test_a_usage_error_does_not_echo_an_escape_sequence(tmp_path: Path) -> None:
    code, out, err = run_bytes("scan", "--data-dir", str(tmp_path / "\x1b[31mX\u202e"))
    assert code == 2 and out == ""
    assert raw_dangers(err) == [] and "X" in err and "no such folder" in err
    code, out, err = run_bytes("scan", "--no-such-option-\x1b[31m\u202e")
    assert code == 2 and raw_dangers(out + err) == [] and "Traceback" not in err


def test_run_cli_sees_the_same(tmp_path: Path) -> None:
    # The suite's usual runner (text mode) agrees, where it can see at all.
    data, projects = hostile_folder(tmp_path)
    done = run_cli("scan", "--data-dir", str(data), "--projects-dir", str(projects))
    assert done.returncode == 0 and raw_dangers(done.stdout) == []


# --------------------------------------------------------------------- units


def test_the_progress_line_keeps_its_leading_carriage_return_and_nothing_else() -> None:
    from app.cli.output import SafeStream

    raw = io.StringIO()
    stream = SafeStream(raw)
    assert stream.write("\r[1/2] a\x1b[2Jb") == len("\r[1/2] a\x1b[2Jb")
    assert raw.getvalue() == "\r[1/2] a\ufffd[2Jb"
    stream.write("\r[2/2] c\r\u202e")  # the next step overwrites it; only the first \r is kept
    stream.write("\n")
    assert raw.getvalue() == "\r[1/2] a\ufffd[2Jb\r[2/2] c\ufffd\ufffd\n"
    # A \r cannot overwrite what another write put on the line (print("Run", run_id)).
    raw.seek(0), raw.truncate()
    stream.write("Run")
    stream.write(" ")
    stream.write("\rfake\ttab\n")
    assert raw.getvalue() == "Run \ufffdfake\ttab\n"
    assert stream.raw is raw


def test_the_stream_is_the_one_it_wraps_for_everything_but_what_is_written(tmp_path: Path) -> None:
    from app.cli.output import SafeStream

    with open(tmp_path / "out.txt", "w", encoding="ascii", errors="strict") as f:
        stream = SafeStream(f)
        assert stream.fileno() == f.fileno() and stream.isatty() is False and stream.encoding == "ascii"
        stream.write("caf\u00e9 \u202e\n")  # not encodable, and the stream is strict: still no crash
        stream.reconfigure(errors="replace")
        assert stream.errors == f.errors == "replace"
        print("ol\u00e9", "\x1b[2J", file=stream, flush=True)
        assert stream.writable() and not stream.closed and stream.name == f.name
    assert (tmp_path / "out.txt").read_text(encoding="ascii") == "caf? ?\nol? ?[2J\n"


def test_emit_json_writes_one_document_that_parses_to_the_same_strings() -> None:
    from app.cli.common import emit_json

    value = {"title": TITLE_ESC + TITLE_BIDI + "\ud800 lone", "path": "C:\\x\\\u202e", "n": [1, None, True],
             "\u2028key": "\u200b\ufeff\u2060\x7f"}
    out = io.StringIO()
    emit_json(value, out)
    text = out.getvalue()
    assert text.endswith("}\n") and json.loads(text) == value
    assert raw_dangers(text) == [] and "\u2028" not in text and "\u200b" not in text and "\ud800" not in text


def test_safe_and_cut_replace_bidi_controls_too() -> None:
    from app.cli.common import cut, safe

    assert safe("a\u202eb\x1b[2J\n\tc") == "a\ufffdb\ufffd[2J\ufffd\ufffdc"
    assert cut("\u2066" * 3 + "abcdef", 5) == "\ufffd\ufffd\ufffda…"
    assert cut(None, 5) == "-"


def test_input_prompts_are_neutralised_while_the_console_is(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from app.cli.output import SafeStream, sanitised_console

    asked: list[str] = []

    def fake_input(prompt: object = "") -> str:
        asked.append(str(prompt))
        return "n"

    monkeypatch.setattr(builtins, "input", fake_input)
    with sanitised_console():
        assert isinstance(sys.stdout, SafeStream) and isinstance(sys.stderr, SafeStream)
        assert input("Undo run \x1b[2J\u202e? [y/N] ") == "n"
    assert asked == ["Undo run \ufffd[2J\ufffd? [y/N] "]
    assert builtins.input is fake_input and not isinstance(sys.stdout, SafeStream)


def test_main_in_process_sanitises_and_puts_the_streams_back(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import builtins

    from app import cli

    before = (sys.stdout, sys.stderr, builtins.input)
    assert cli.main(["scan", "--data-dir", str(tmp_path / "\x1b[31mX\u202e")]) == 2
    assert (sys.stdout, sys.stderr, builtins.input) == before
    err = capsys.readouterr().err
    assert "no such folder" in err and raw_dangers(err) == []


def test_every_dangerous_code_point_is_one_isprintable_refuses():
    """neutralise() and json_text() clear a clean text with one
    str.isprintable() pass (a 10,000-session scan is megabytes of text): that
    is only safe while no dangerous code point counts as printable."""
    from app.core.display import _ANY

    printable = [hex(c) for c in range(0x110000) if _ANY.match(chr(c)) and chr(c).isprintable()]
    assert printable == []


def test_scan_json_is_one_compact_document_when_piped_and_still_escapes_what_is_dangerous():
    from app.cli.output import json_text

    value = {"title": "bad \x1b[31m\u202e title", "fine": "français 🎉"}
    text = json_text(value)
    assert "\n" not in text and json.loads(text) == value
    assert "\\u001b" in text and "\\u202e" in text and "français 🎉" in text


def test_a_document_written_in_parts_is_the_very_document_written_whole():
    """scan --json writes a long list a chunk at a time (memory and speed at
    100,000 sessions); the bytes must be those of one json_text call."""
    from app.cli.output import emit_json_document, json_text

    class Item:
        def __init__(self, n: int) -> None:
            self.n = n

        def to_json(self) -> dict:
            return {"n": self.n, "title": f"t\x1b{self.n} ü"}

    parts = [("a", [Item(n) for n in range(7)]), ("empty", []), ("b", {"x": 1}), ("c", ["s", "\u202e"])]
    out = io.StringIO()
    emit_json_document(parts, out, chunk=3)
    whole = {key: [v.to_json() if hasattr(v, "to_json") else v for v in value] if isinstance(value, list)
             else value for key, value in parts}
    assert out.getvalue() == json_text(whole) + "\n"


def test_scan_json_writes_each_session_exactly_as_json_dumps_writes_its_dict(tmp_path: Path) -> None:
    """The sessions of scan --json are written field by field, not through
    json.dumps (speed at 100,000): for every kind of value a session holds
    (missing fields, problems with error positions, hostile and non-BMP
    text, a lone surrogate, times before 1970 and fractions of a
    millisecond), the bytes must be json.dumps' own."""
    from app.cli.output import emit_json_document, json_text
    from app.core import locations
    from app.core.scan import scan

    folder = DataFolder(tmp_path / "data")
    folder.json("local_esc", title=TITLE_ESC, cwd=CWD, model=None)
    folder.json("local_emoji", title='"quoted" \\ back 🎉 ü \u2028', completedTurns=3)
    folder.json("local_surrogate", b'{"sessionId":"local_surrogate","title":"\\ud800 lone","createdAt":-5,'
                                   b'"lastActivityAt":1.5,"cwd":"/x"}')
    folder.json("local_bom", b"\xef\xbb\xbf" + json.dumps({"sessionId": "local_bom", "title": "bom"}).encode())
    folder.json("local_cut", b'{"sessionId":"local_cut","title":"cut')
    folder.json("local_zero", b"\0" * 64)
    folder.tmp("local_orphan", title="only a tmp", lastActivityAt=T0 + 1)
    folder.json("local_both", title="both", lastActivityAt=T0)
    folder.tmp("local_both", title="both, newer", lastActivityAt=T0 + 5)
    (tmp_path / "projects").mkdir()
    result = scan([locations.chosen(str(folder.root))], tmp_path / "projects")
    assert len(result.sessions) == 8
    out = io.StringIO()
    emit_json_document(result.json_parts(), out, chunk=3)
    assert out.getvalue() == json_text(result.to_json()) + "\n"
    sessions = {s["id"]: s for s in json.loads(out.getvalue())["sessions"]}
    assert sessions["local_surrogate"]["title"] == "\ud800 lone" and sessions["local_esc"]["title"] == TITLE_ESC
    assert sessions["local_cut"]["details"][0]["offset"] is not None


def test_counts_are_written_as_a_person_writes_them():
    """"1 session", "10 sessions": never "session(s)" in what a user reads."""
    from app.core.display import counted

    assert [counted(n, "session") for n in (0, 1, 2, 2890)] == ["0 sessions", "1 session", "2 sessions",
                                                                 "2,890 sessions"]
    assert counted(1, "backup run") == "1 backup run"
    import re

    awkward = [(p.name, found) for p in (ROOT / "app").rglob("*.py")
               for found in re.findall(r"\b(?:session|line|message|run|stub|turn|file|connection|record)\(s\)",
                                       p.read_text(encoding="utf-8"))]
    assert awkward == []


def at_a_terminal(args: list[str], answer: bytes | None = None, interrupt: bool = False,
                  interrupt_after: float | None = None, program: str | None = None) -> tuple[int, str]:
    """The CLI at a real terminal (a pty), answering its question with
    ``answer`` or, with ``interrupt``, with Ctrl+C (the SIGINT a terminal
    sends).  With ``interrupt_after``, Ctrl+C comes that many seconds after
    the start, asked or not, and only then is a question answered.  With
    ``program``, that Python program runs in the CLI's place (given ``args``)."""
    import pty
    import signal

    main_fd, child_fd = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8", TERM="dumb")
    env.pop("SESSION_RESCUE_DEBUG", None)  # a traceback is what the tests look for, not what they ask for
    start = ["-c", program] if program is not None else ["-m", "app"]
    proc = subprocess.Popen([sys.executable, *start, *args], stdin=child_fd, stdout=child_fd, stderr=child_fd,
                            env=env)
    os.close(child_fd)
    started = time.monotonic()
    seen, asked, sent, deadline = b"", False, interrupt_after is None, started + 60
    try:
        while time.monotonic() < deadline:
            if not sent and time.monotonic() - started >= (interrupt_after or 0):
                proc.send_signal(signal.SIGINT)
                sent = True
            ready, _, _ = select.select([main_fd], [], [], 0.1 if not sent else 0.5)
            if ready:
                try:
                    chunk = os.read(main_fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not asked and sent and b"[y/N]" in seen:
                asked = True
                time.sleep(0.2)  # it waits in input() by now
                if interrupt:
                    proc.send_signal(signal.SIGINT)
                else:
                    os.write(main_fd, answer or b"\n")
            if proc.poll() is not None and not ready:
                break
    finally:
        os.close(main_fd)
        proc.wait(timeout=30)
    return proc.returncode, seen.decode("utf-8").replace("\r\n", "\n")  # the terminal's own line ends


@posix_only
@pytest.mark.parametrize("command", ["repair", "adopt"])
def test_ctrl_c_at_the_question_changes_nothing_and_says_so_with_exit_code_130(tmp_path, command):
    data = demo.write_demo(tmp_path / "Claude").path
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    code, text = at_a_terminal([command, "--data-dir", str(data), "--backup-dir", str(tmp_path / "b"),
                                "--ignore-running"], interrupt=True)
    assert code == 130, text
    assert "Nothing was changed." in text and "Stopping after" not in text and "Traceback" not in text
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before


@posix_only
def test_ctrl_c_at_the_question_still_says_what_was_done_before_it_was_asked(tmp_path):
    """A repair first undoes a run that was cut short (here: killed at its
    26th change); Ctrl+C at the question must not hide that under "Nothing
    was changed.", which is about this repair alone."""
    from test_interrupted_repair import KILLER, build

    folder = build(tmp_path / "Claude")
    backups = tmp_path / "b"
    killed = subprocess.run([sys.executable, str(KILLER), "26", f"{folder.root}{os.pathsep}{backups}", "--",
                             "repair", "--data-dir", str(folder.root), "--backup-dir", str(backups), "--yes",
                             "--ignore-running"], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert killed.returncode == -9, killed.stderr  # SIGKILL, mid-run
    code, text = at_a_terminal(["repair", "--data-dir", str(folder.root), "--backup-dir", str(backups),
                                "--ignore-running"], interrupt=True)
    assert code == 130, text
    assert "was found and undone first" in text and text.index("undone first") < text.index("Nothing was changed.")


@posix_only
def test_ctrl_c_while_the_plan_is_printed_stops_the_repair_before_it_starts(tmp_path):
    """Found when CI hit it: a Ctrl+C that came while the plan was printed
    (a plan of thousands takes a while) was taken for a stop, yet the
    question came all the same, and a yes started a run.  Here the Ctrl+C
    comes exactly then: the CLI's own main, with the plan's printing
    sending it first."""
    folder = DataFolder(tmp_path / "Claude")
    folder.tmp("local_orphan", title="only a .tmp")
    program = "\n".join([
        "import os, signal, sys",
        "from app import cli",
        "from app.cli import repair_commands",
        "printed = repair_commands._print_plan",
        "def ctrl_c_as_it_prints(*args):",
        "    os.kill(os.getpid(), signal.SIGINT)",
        "    printed(*args)",
        "repair_commands._print_plan = ctrl_c_as_it_prints",
        "sys.exit(cli.main(sys.argv[1:]))",
    ])
    # The question, should it come, is answered yes.
    code, text = at_a_terminal(["repair", "--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "b"),
                                "--ignore-running"], answer=b"y\n", program=program)
    assert code == 130, text
    assert "[y/N]" not in text and "Nothing was changed." in text
    from app.core import backups

    assert not list(folder.org.glob("*.json")) and backups.runs(tmp_path / "b") == []


@posix_only
def test_ctrl_c_while_it_scans_stops_the_repair_before_it_starts(tmp_path):
    """Ctrl+C before the question (here while thousands of records are read)
    means stop: nothing is asked, nothing is changed, no backup run is made.
    (Should the scan be done by then, the Ctrl+C lands on the question, with
    the same outcome: the test holds either way.)"""
    folder = DataFolder(tmp_path / "Claude")
    for i in range(5000):
        folder.tmp(f"local_o{i:05}", title="only a .tmp")
    # Should the question come first, it is answered yes: the Ctrl+C has said no by then.
    code, text = at_a_terminal(["repair", "--data-dir", str(folder.root), "--backup-dir", str(tmp_path / "b"),
                                "--ignore-running"], answer=b"y\n", interrupt_after=0.4)
    assert code == 130, text[-2000:]
    assert "Nothing was changed." in text
    from app.core import backups

    assert not list(folder.org.glob("*.json")) and backups.runs(tmp_path / "b") == []

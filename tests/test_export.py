"""Exporting a session's conversation (Markdown, and one self-contained HTML
page): exactly the document expected, for any session whose conversation is
on this computer, streamed, read-only, and safe whatever the transcript
holds."""

from __future__ import annotations

import io
import json
import os
import re
import tracemalloc
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app.core import conversation, export, locations, slug
from app.core.display import DANGEROUS
from app.core.records import Session
from app.core.scan import scan

from conftest import T0, DataFolder, files_only, posix_only, run_cli, snapshot

EXPECTED = Path(__file__).parent / "expected"
SID = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # the Claude Code session (transcript)
STEM = "local_0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # its record in Claude Desktop
CWD = "/home/ana/shop"
TITLE = ("Fix </title><script>alert(1)</script> *now* [x](javascript:alert(1)) \u202egnp.exe "
         "# `tick` \x1b[2J$x$")
SECOND = 1000


def _line(kind: str, content, ms: int, **extra) -> dict:
    message = {"role": kind, "content": content}
    if kind == "assistant":
        message["model"] = extra.pop("model", "claude-opus-5")
    return {"type": kind, "sessionId": SID, "cwd": CWD, "isSidechain": False, "message": message,
            "timestamp": _iso(ms), **extra}


def _iso(ms: int) -> str:
    from app.core.display import iso_time

    return iso_time(ms) or ""


def hostile_transcript() -> list:
    """One of every kind of line, and in every place text that tries to be
    markup, a control sequence or a bidi override."""
    return [
        {"type": "summary", "summary": "Checkout *test* <b>fix</b>"},
        _line("user", "Please fix the flaky `checkout` test.\r\nIt fails 1 in 10 runs.\x1b[31m red\u202e", T0),
        _line("assistant", [
            {"type": "thinking", "thinking": "The test waits on a timer <i>maybe</i>."},
            {"type": "text", "text": "Here is a plan:\n\n```python\nprint('hi')\n```\n\n</div><script>alert('x')"
                                     "</script>"},
            {"type": "tool_use", "id": "t1", "name": "Bash<img src=x onerror=alert(1)>",
             "input": {"command": "pytest -k checkout && echo '</pre><img src=x onerror=alert(1)>'"}}],
            T0 + 60 * SECOND),
        _line("user", [{"type": "tool_result", "tool_use_id": "t1", "content": "1 failed\r\n2 passed"}],
              T0 + 90 * SECOND),
        _line("user", [{"type": "tool_result", "tool_use_id": "t1", "is_error": True,
                        "content": [{"type": "text", "text": "Error: ```` fence breaker\n````\n# not a heading"}]}],
              T0 + 95 * SECOND),
        _line("user", "a subagent's prompt, not part of the conversation", T0 + 96 * SECOND, isSidechain=True),
        {"type": "file-history-snapshot", "snapshot": {}},
        _line("assistant", [
            {"type": "text", "text": "Fixed. See [link](javascript:alert(1)) and <a href=\"javascript:alert(1)\" "
                                     "onclick=\"x()\">this</a>."},
            {"type": "image", "source": {"type": "base64", "data": "AAAA"}}], T0 + 120 * SECOND,
            model="claude-sonnet-5"),
        {"type": "custom-title", "customTitle": "Flaky checkout test"},
    ]


def write_transcript(projects: Path, lines: list, sid: str = SID, cwd: str = CWD, tail: bytes = b"") -> Path:
    path = projects / slug.slug(cwd) / f"{sid}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in lines) + tail)
    return path


@pytest.fixture
def claude(tmp_path: Path) -> tuple[DataFolder, Path]:
    """A data folder with one record whose conversation is the hostile transcript."""
    folder = DataFolder(tmp_path / "Claude")
    folder.json(STEM, cliSessionId=SID, cwd=CWD, title=TITLE, model="claude-opus-5")
    projects = tmp_path / "projects"
    write_transcript(projects, hostile_transcript(), tail=b"{\"type\": \"user\", cut short by a crash\n")
    return folder, projects


def scanned(folder: DataFolder, projects: Path):
    return scan([locations.chosen(str(folder.root))], projects)


def session_of(folder: DataFolder, projects: Path, wanted: str) -> Session:
    found = export.find_session(scanned(folder, projects), wanted)
    assert found is not None, wanted
    return found


def exported(session: Session, fmt: str) -> str:
    out = io.StringIO()
    tally = export.export_session(session, out, fmt, tz=UTC)
    assert tally.error is None
    return out.getvalue()


def cli(folder: DataFolder, projects: Path, *args: str, **kw):
    return run_cli("export", *args, "--data-dir", str(folder.root), "--projects-dir", str(projects),
                   env={"TZ": "UTC"}, **kw)


def one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("session-rescue: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# ------------------------------------------------------------ the documents


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_export_is_exactly_the_expected_document(claude, fmt):
    document = exported(session_of(*claude, STEM), fmt)
    assert document == (EXPECTED / f"export.{fmt}").read_text(encoding="utf-8")


def test_markdown_starts_with_the_title_as_a_heading_and_the_facts(claude):
    lines = exported(session_of(*claude, STEM), "md").splitlines()
    assert lines[0].startswith("# Fix ") and "\n" not in lines[0]
    assert lines[2:9] == ["- **Folder:** `/home/ana/shop`",
                          "- **First message:** 2026-08-27 19:11 (UTC+00:00)",
                          "- **Last message:** 2026-08-27 19:13 (UTC+00:00)",
                          "- **Model:** `claude-sonnet-5`",
                          f"- **Session:** `{STEM}`",
                          f"- **Claude Code session:** `{SID}`", ""]


@posix_only  # TZ=UTC in the environment is how the tests pin the local time
def test_the_cli_writes_the_same_bytes_to_standard_output_and_to_a_new_file(claude, tmp_path):
    done = cli(*claude, STEM.upper())
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (EXPECTED / "export.md").read_text(encoding="utf-8")
    target = tmp_path / "out" / "conversation.html"
    target.parent.mkdir()
    done = cli(*claude, STEM.removeprefix("local_"), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Wrote the conversation of {STEM} (5 messages) to {target}\n"
    assert target.read_bytes() == (EXPECTED / "export.html").read_bytes()  # .html: HTML, as the name says
    assert sorted(os.listdir(target.parent)) == ["conversation.html"]  # no temporary file left behind


def test_exporting_changes_nothing_in_claudes_folders(claude, tmp_path):
    folder, projects = claude
    before = files_only(snapshot(tmp_path))
    exported(session_of(folder, projects, STEM), "html")
    assert cli(folder, projects, STEM).returncode == 0
    assert files_only(snapshot(tmp_path)) == before


# ---------------------------------------------------------- hostile content


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_of_a_hostile_transcript_holds_no_script_and_no_outside_resource(claude):
    page = exported(session_of(*claude, STEM), "html")
    parsed = _Tags()
    parsed.feed(page)
    parsed.close()
    names = {tag for tag, _ in parsed.tags}
    assert names <= {"html", "head", "meta", "title", "style", "body", "h1", "dl", "dt", "dd", "main", "p", "b",
                     "span", "time", "div", "details", "summary", "pre", "footer"}, names
    attributes = [(name, value or "") for _, attrs in parsed.tags for name, value in attrs]
    assert not [a for a in attributes if a[0].startswith("on")]
    assert not [a for a in attributes if a[0] in ("src", "href", "action", "srcset", "style", "background")]
    assert not [a for a in attributes if "javascript:" in a[1].replace(" ", "").lower()]
    assert not re.search(r"url\(|@import|<script|<img|<a ", page, re.IGNORECASE)
    csp = [dict(attrs)["content"] for tag, attrs in parsed.tags if tag == "meta"
           and dict(attrs).get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none'; style-src 'unsafe-inline'")
    # What the transcript said is all there, as text to read:
    text = "".join(parsed.text)
    for said in ("</title><script>alert(1)</script>", "</div><script>alert('x')</script>",
                 "<a href=\"javascript:alert(1)\" onclick=\"x()\">this</a>", "Bash<img src=x onerror=alert(1)>"):
        assert said in text


def test_no_control_or_bidi_character_reaches_either_document(claude):
    for fmt in ("md", "html"):
        document = exported(session_of(*claude, STEM), fmt)
        assert not re.search(f"(?![\\n\\t])[{DANGEROUS}]", document), fmt
        assert "\ufffd[31m red\ufffd" in document  # replaced where it stood, the text kept


def test_markdown_shows_every_message_as_written_and_cannot_be_broken_out_of(claude):
    document = exported(session_of(*claude, STEM), "md")
    outside, fences = [], re.compile(r"^(`{3,})(\w*)$")
    lines, i = document.splitlines(), 0
    while i < len(lines):
        opening = fences.match(lines[i])
        if opening is None:
            outside.append(lines[i])
            i += 1
            continue
        end = lines.index(opening.group(1), i + 1)  # CommonMark: closed only by as many backticks, alone
        assert all(not re.fullmatch(f"{opening.group(1)}`*", x.strip()) for x in lines[i + 1:end])
        i = end + 1
    shown = "\n".join(outside)
    # Outside the fences only our own markup: headings, the facts, <details>, and escaped text.
    assert not re.search(r"(?<!\\)<(?!/?details>|/?summary>)", shown)
    assert "\\[x\\](javascript:alert(1))" in lines[0] and "\\<script\\>" in lines[0]
    assert lines[0].endswith("\\`tick\\` \ufffd\\[2J\\$x\\$")
    assert "# not a heading" not in shown and "print('hi')" not in shown


# ------------------------------------------------------------------ streaming


def test_a_transcript_far_bigger_than_a_page_is_streamed_in_bounded_memory(tmp_path, monkeypatch):
    projects = tmp_path / "projects"
    big = "y" * 100_000
    lines = [_line("user", "Export all of this.", T0)]
    lines += [_line("user", [{"type": "tool_result", "tool_use_id": f"t{i}", "content": f"{i}:{big}"}],
                    T0 + i * SECOND) for i in range(300)]
    path = write_transcript(projects, lines)
    size = path.stat().st_size
    assert size > 30_000_000 > 50 * conversation.PAGE_BYTES
    folder = DataFolder(tmp_path / "Claude")
    session = session_of(folder, projects, SID)  # a transcript with no record
    pages: list[tuple[int, int]] = []
    real_read_page = conversation.read_page

    def read_page(*args, **kwargs):
        page = real_read_page(*args, **kwargs)
        pages.append((page.start, page.end))
        return page

    monkeypatch.setattr(conversation, "read_page", read_page)

    class Counted(io.TextIOBase):
        chars = 0
        results = 0

        def write(self, text: str) -> int:
            self.chars += len(text)
            self.results += text.count("<details><summary>Tool result")
            return len(text)

    out = Counted()
    tracemalloc.start()
    try:
        tally = export.export_session(session, out, "html")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (tally.messages, out.results, tally.bytes_read, tally.error) == (301, 300, size, None)
    assert out.chars > 300 * len(big)  # every character of every result is in the page
    assert peak < 6_000_000 < size / 5, f"peak {peak:,} bytes for a {size:,}-byte transcript"
    assert len(pages) >= size // (conversation.PAGE_BYTES + len(big) + 1000)
    assert [start for start, _ in pages] == [0, *[end for _, end in pages[:-1]]]  # each page once, in order
    assert pages[-1][1] == size


# --------------------------------------------- whatever the session's state


def test_a_transcript_without_a_record_exports_by_its_id(tmp_path):
    projects = tmp_path / "projects"
    write_transcript(projects, hostile_transcript())
    folder = DataFolder(tmp_path / "Claude")
    done = cli(folder, projects, SID.upper(), "--format", "html")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<!DOCTYPE html>") and "<title>Flaky checkout test</title>" in done.stdout
    assert f"<dt>Session</dt><dd>{SID}</dd>" in done.stdout and "Claude Code session" not in done.stdout


def test_a_corrupt_record_whose_transcript_survives_exports(claude):
    folder, projects = claude
    folder.json(STEM, cliSessionId=SID, cwd=CWD, title="Plan sprint 48", lastActivityAt="soon")  # bad-timestamp
    session = session_of(folder, projects, STEM)
    assert session.status == "corrupt"
    done = cli(folder, projects, STEM)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Plan sprint 48\n") and "Fixed. See [link]" in done.stdout


def test_a_record_too_damaged_to_name_its_transcript_exports_by_the_transcript_id(claude):
    folder, projects = claude
    folder.json(STEM, b"\0" * 700)  # zero-filled by a crash: nothing says which transcript was its
    done = cli(folder, projects, STEM)
    assert done.returncode == 1
    assert one_sentence(done.stderr) == (f"session-rescue: the record of {STEM} is too damaged to say which "
                                         "transcript holds its conversation, so there is nothing to export")
    done = cli(folder, projects, SID)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Flaky checkout test\n")


def test_the_session_id_is_found_however_it_is_written(claude):
    result = scanned(*claude)
    for wanted in (STEM, STEM.upper(), STEM.removeprefix("local_"), f"{STEM}.json", f" {STEM} ", SID,
                   SID.upper(), f"{SID}.jsonl"):
        found = export.find_session(result, wanted)
        assert found is not None and found.id == STEM, wanted
    assert export.find_session(result, "local_") is None
    # The beginning of an id, as scan's table shows it cut short, names the one session it begins...
    assert export.find_session(result, STEM[:-1]).id == STEM and export.find_session(result, STEM[:14] + "…")
    with pytest.raises(export.ExportError, match="give at least 7 characters"):  # ... never fewer than 7
        export.find_session(result, STEM[:12])


# ------------------------------------------------------------------- errors


def test_errors_are_one_sentence_and_an_exit_code(claude, tmp_path):
    folder, projects = claude
    folder.json("local_9a9a9a9a-0000-4000-8000-000000000000", completedTurns=0)  # no conversation yet
    existing = tmp_path / "existing.md"
    existing.write_bytes(b"mine")
    cases = [
        (["local_ffffffff-0000-4000-8000-000000000000"], 2,
         "no session or transcript “local_ffffffff-0000-4000-8000-000000000000” was found (see 'session-rescue "
         "scan' for the ids; the first 8 characters of one are enough)"),
        (["local_9a9a9a9a-0000-4000-8000-000000000000"], 1,
         "local_9a9a9a9a-0000-4000-8000-000000000000 has no conversation yet, so there is nothing to export"),
        ([STEM, "-o", str(existing)], 2,
         f"{existing} already exists; export never replaces a file, so choose another name"),
        ([STEM, "-o", str(tmp_path / "nowhere" / "x.md")], 2,
         f"-o {tmp_path / 'nowhere' / 'x.md'}: there is no folder {tmp_path / 'nowhere'}"),
        ([STEM, "--format", "pdf"], 2, None),
    ]
    for args, code, sentence in cases:
        done = cli(folder, projects, *args)
        assert done.returncode == code, (args, done.stderr)
        assert done.stdout == ""
        line = one_sentence(done.stderr)
        if sentence is not None:
            assert line == f"session-rescue: {sentence}"
    assert existing.read_bytes() == b"mine"


def test_a_stub_or_a_vanished_transcript_is_said_in_one_sentence(claude, tmp_path):
    folder, projects = claude
    session = session_of(folder, projects, STEM)
    transcript = Path(export.conversation_of(session) or "")
    transcript.unlink()  # gone between the scan and the export
    with pytest.raises(export.ExportError, match=r"^the transcript .* cannot be read: No such file"):
        export.export_session(session, io.StringIO())
    write_transcript(projects, [{"type": "custom-title", "customTitle": "only a title"}])
    done = cli(folder, projects, STEM)
    assert (done.returncode, one_sentence(done.stderr)) == (
        1, f"session-rescue: the transcript of {STEM} holds no conversation, so there is nothing to export")


def test_a_transcript_that_stops_being_readable_leaves_no_file_and_says_so(claude, tmp_path, monkeypatch):
    session = session_of(*claude, STEM)
    real_read_page = conversation.read_page

    def failing(path, start=0, **kwargs):
        page = real_read_page(path, start, **{**kwargs, "max_messages": 2})
        if start > 0:
            return conversation.Page([], start, start, page.size, error="the transcript cannot be read: I/O error")
        return page

    monkeypatch.setattr(conversation, "read_page", failing)
    out = io.StringIO()
    tally = export.export_session(session, out, "md")
    assert tally.error == "the transcript cannot be read: I/O error"
    assert out.getvalue().endswith("*The export stops here: the transcript cannot be read: I/O error.*\n")
    target = tmp_path / "out.md"
    with pytest.raises(export.ExportError, match="I/O error; nothing was written$"):
        export.export_to_file(session, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["Claude", "projects"])


def test_an_export_to_a_file_replaces_one_only_when_asked(claude, tmp_path):
    session = session_of(*claude, STEM)
    target = tmp_path / "conversation.md"
    target.write_bytes(b"mine")
    with pytest.raises(export.TargetExists):
        export.export_to_file(session, target)
    assert target.read_bytes() == b"mine"
    export.export_to_file(session, target, overwrite=True, tz=UTC)  # a save dialog that asked first
    assert target.read_bytes() == (EXPECTED / "export.md").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Claude", "conversation.md", "projects"]


def test_a_cancelled_export_leaves_no_file(tmp_path):
    projects = tmp_path / "projects"
    write_transcript(projects, [_line("user", "x" * 1000, T0)] * 3000)
    session = session_of(DataFolder(tmp_path / "Claude"), projects, SID)
    seen: list[int] = []
    with pytest.raises(export.ExportCancelled):
        export.export_to_file(session, tmp_path / "out.html", "html",
                              progress=lambda done, total: seen.append(done) or len(seen) < 2)
    assert len(seen) == 2 and not (tmp_path / "out.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_the_suggested_file_name_is_safe_everywhere():
    def named(title):
        return Session("local_0a1b2c3d-0000-4000-8000-000000000000", "healthy", (), "", "", True, "", None, None,
                       False, title)

    assert export.suggested_file_name(named("Fix the flaky test"), "md") == "Fix the flaky test.md"
    hostile = named('a/b\\c:d*e?"<>|\x1b[2J\u202e.')
    assert export.suggested_file_name(hostile, "html") == "a-b-c-d-e-\ufffd[2J\ufffd.html"
    assert export.suggested_file_name(named("CON"), "md") == "conversation-0a1b2c3d.md"
    assert export.suggested_file_name(named(None), "md") == "conversation-0a1b2c3d.md"
    assert export.suggested_file_name(named(" ... "), "md") == "conversation-0a1b2c3d.md"

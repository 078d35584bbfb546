"""Transcripts without records: found, read at their two ends only, and told
apart from the ones a record or a tombstone already names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.core import demo, locations, reasons
from app.core.display import summary_line
from app.core.records import TRANSCRIPT_ONLY
from app.core.scan import scan
from app.core.transcripts import HEAD, TAIL, read_info

from conftest import T0, DataFolder, dump, posix_only, record

SID = "0f0e0d0c-0b0a-4909-8807-060504030201"
CWD = "C:\\Users\\ana\\repos\\shop"


def write_transcript(path: Path, lines: list, tail: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(x).encode() + b"\n" for x in lines) + tail)
    return path


def conversation(sid: str = SID, cwd: str = CWD, start: int = T0, turns: int = 2, **kw) -> list:
    return demo.conversation(sid, cwd, "Fix the flaky checkout test", start, start + 600_000, turns, **kw)


def padding_line(sid: str, size: int) -> dict:
    """A big tool result in the middle of a transcript, as a long session has."""
    return {"type": "user", "sessionId": sid, "cwd": "/elsewhere", "timestamp": "2020-01-01T00:00:00Z",
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x",
                                                     "content": "y" * size}]}}


def bytes_read_by_this_process() -> int:
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


# ------------------------------------------------------------- one transcript


def test_a_small_transcript_is_read_whole_and_its_turns_are_exact(tmp_path):
    path = write_transcript(tmp_path / f"{SID}.jsonl", conversation(turns=3, model="claude-sonnet-5"))
    info = read_info(SID, str(path))
    assert (info.cwd, info.model, info.turns, info.turns_exact) == (CWD, "claude-sonnet-5", 3, True)
    assert info.first_ms == T0 and info.last_ms is not None and info.last_ms > T0
    assert (info.title, info.title_source) == ("Fix the flaky checkout test", "first message")
    assert info.problems == []


@pytest.mark.parametrize("extra, title, source", [
    ([{"type": "summary", "summary": "Checkout test fix"}], "Checkout test fix", "summary"),
    ([{"type": "summary", "summary": "S"}, {"type": "ai-title", "aiTitle": "AI"}], "AI", "ai-title"),
    ([{"type": "custom-title", "customTitle": "First name"}, {"type": "ai-title", "aiTitle": "AI"},
      {"type": "custom-title", "customTitle": "Renamed"}], "Renamed", "custom-title"),
])
def test_the_title_is_the_latest_custom_title_then_the_ai_title_then_the_summary(tmp_path, extra, title, source):
    path = write_transcript(tmp_path / f"{SID}.jsonl", conversation() + extra)
    info = read_info(SID, str(path))
    assert (info.title, info.title_source) == (title, source)


def test_tool_results_commands_and_sidechains_are_not_turns_or_titles(tmp_path):
    lines = [
        {"type": "user", "isSidechain": True, "cwd": CWD, "timestamp": "2026-01-01T00:00:00Z",
         "message": {"role": "user", "content": "a subagent's prompt"}},
        {"type": "user", "cwd": CWD, "timestamp": "2026-01-01T00:00:01Z",
         "message": {"role": "user", "content": "<command-name>/clear</command-name>"}},
        {"type": "user", "cwd": CWD, "timestamp": "2026-01-01T00:00:02Z",
         "message": {"role": "user", "content": [{"type": "tool_result", "content": "ok"}]}},
        {"type": "user", "cwd": CWD, "timestamp": "2026-01-01T00:00:03Z",
         "message": {"role": "user", "content": [{"type": "text", "text": "The real question"}]}},
    ]
    info = read_info(SID, str(write_transcript(tmp_path / f"{SID}.jsonl", lines)))
    assert (info.title, info.turns) == ("The real question", 1)


def test_a_large_transcript_is_read_at_its_head_and_tail_only(tmp_path):
    lines = conversation(turns=1)
    middle = [padding_line(SID, 1 << 20) for _ in range(40)]  # 40 MB nobody needs to read
    ending = conversation(start=T0 + 86_400_000, turns=1, model="claude-sonnet-5")
    ending.append({"type": "custom-title", "customTitle": "Renamed at the end"})
    path = write_transcript(tmp_path / f"{SID}.jsonl", lines + middle + ending)
    assert path.stat().st_size > 40 << 20
    before = bytes_read_by_this_process() if Path("/proc/self/io").exists() else None
    info = read_info(SID, str(path))
    if before is not None:
        assert bytes_read_by_this_process() - before <= HEAD + TAIL + 8192
    assert info.bytes_read <= HEAD + TAIL
    assert info.cwd == CWD  # the head
    assert info.first_ms == T0
    assert info.last_ms is not None and info.last_ms >= T0 + 86_400_000  # the tail
    assert info.model == "claude-sonnet-5"
    assert (info.title, info.title_source) == ("Renamed at the end", "custom-title")
    assert info.turns == 2 and not info.turns_exact  # the middle was not counted, and it says so


def test_a_first_line_longer_than_the_head_is_read_to_its_end(tmp_path):
    first = {"type": "user", "cwd": CWD, "timestamp": "2026-01-01T00:00:00Z",
             "message": {"role": "user", "content": "Review this file:\n" + "x" * (HEAD * 3)}}
    middle = [padding_line(SID, 1 << 20) for _ in range(2)]
    path = write_transcript(tmp_path / f"{SID}.jsonl", [first, *middle, *conversation(turns=1)])
    info = read_info(SID, str(path))
    assert info.title is not None and info.title.startswith("Review this file:")
    assert info.first_ms is not None and info.cwd == CWD


@pytest.mark.parametrize("name, data", [
    ("empty", b""),
    ("zero-filled", b"\0" * 200_000),
    ("binary", bytes(range(256)) * 1000),
    ("not JSON lines", b"hello\nworld\n" * 20_000),
    ("deeply nested", b"[" * 200_000 + b"]" * 200_000 + b"\n"),
    ("a JSON array per line", b"[1,2,3]\n" * 10),
    ("cut short", json.dumps(conversation()[0]).encode()[:-20]),
])
def test_a_hostile_transcript_gives_an_answer_not_a_crash(tmp_path, name, data):
    path = tmp_path / f"{SID}.jsonl"
    path.write_bytes(data)
    info = read_info(SID, str(path))
    assert not info.has_conversation, name
    assert info.size == len(data)


def test_a_transcript_whose_last_line_was_cut_by_a_crash_keeps_the_rest(tmp_path):
    path = write_transcript(tmp_path / f"{SID}.jsonl", conversation(turns=2), tail=b'{"type":"user","mess')
    info = read_info(SID, str(path))
    assert info.turns == 2 and "its last line is cut short" in info.problems


@posix_only
def test_a_pipe_named_like_a_transcript_does_not_hang_the_scan(tmp_path):
    os.mkfifo(tmp_path / f"{SID}.jsonl")
    info = read_info(SID, str(tmp_path / f"{SID}.jsonl"))
    assert info.problems == ["not a regular file"]


# ------------------------------------------------------------ the whole scan


def test_only_transcripts_that_nothing_names_are_listed(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    projects = tmp_path / "projects"
    ids = {name: f"{i:08d}-0000-4000-8000-000000000000" for i, name in enumerate(
        ["recorded", "recorded-elsewhere", "deleted", "orphan", "cli-only", "empty"])}
    folder.json("local_a", cliSessionId=ids["recorded"])
    other = DataFolder(tmp_path / "Claude", account="33333333-3333-4333-8333-333333333333")
    other.tmp("local_b", cliSessionId=ids["recorded-elsewhere"])  # an orphan in another account still names it
    folder.write(f"deleted_{ids['deleted']}", b"1787857878676")
    for name, sid in ids.items():
        lines = [] if name == "empty" else conversation(sid=sid)
        write_transcript(projects / "C--Users-ana-repos-shop" / f"{sid}.jsonl", lines)
    sub = ids["orphan"]
    write_transcript(projects / "C--Users-ana-repos-shop" / f"agent-{sub[:8]}.jsonl", conversation(sid=sub))
    write_transcript(projects / "C--Users-ana-repos-shop" / sub / "subagents" / "agent-1.jsonl",
                     conversation(sid=sub))
    write_transcript(projects / "C--Users-ana-repos-shop" / "notes.jsonl", conversation())
    result = scan([locations.chosen(folder.root)], projects)
    assert sorted(s.id for s in result.transcript_only) == sorted([ids["orphan"], ids["cli-only"]])
    for s in result.transcript_only:
        assert s.status == TRANSCRIPT_ONLY and s.reasons == (reasons.NO_RECORD,)
        assert s.transcript is not None and s.transcript.cwd == CWD and s.transcript_path
    assert result.summary()[TRANSCRIPT_ONLY] == 2
    assert "2 transcripts have no record and can be rebuilt" in summary_line(result)


def test_a_record_that_lost_its_link_is_matched_by_folder_and_time_and_nothing_else(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    projects = tmp_path / "projects"
    folder.json("local_lost", cwd=CWD, createdAt=T0, lastActivityAt=T0 + 600_000, cliSessionId=None,
                transcriptUnavailable=True, completedTurns=2)
    match = "aaaaaaaa-0000-4000-8000-000000000000"
    elsewhere = "bbbbbbbb-0000-4000-8000-000000000000"
    later = "cccccccc-0000-4000-8000-000000000000"
    write_transcript(projects / "p" / f"{match}.jsonl", conversation(sid=match, start=T0 + 20_000))
    write_transcript(projects / "p" / f"{elsewhere}.jsonl", conversation(sid=elsewhere, cwd="D:\\other"))
    write_transcript(projects / "p" / f"{later}.jsonl", conversation(sid=later, start=T0 + 3 * 86_400_000))
    result = scan([locations.chosen(folder.root)], projects)
    assert [(link.session.id, link.transcript.id) for link in result.links] == [("local_lost", match)]
    evidence = " ".join(result.links[0].evidence)
    assert "same folder" in evidence and "starts 20 s after" in evidence
    lost = next(s for s in result.sessions if s.id == "local_lost")
    # It loads and is listed, but opens on no conversation: lost, and a rebuild links it back.
    assert reasons.UNLINKED in lost.reasons and (lost.status, lost.opens, lost.fix) == ("orphaned", False, "rebuild")
    by_id = {s.id: s.reasons for s in result.transcript_only}
    assert by_id[match] == (reasons.NO_RECORD, reasons.LINK_PROPOSED)
    assert by_id[elsewhere] == by_id[later] == (reasons.NO_RECORD,)


def test_a_linked_record_is_never_proposed_and_each_transcript_goes_to_one_record(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    projects = tmp_path / "projects"
    folder.json("local_one", cwd=CWD, cliSessionId=None, createdAt=T0, lastActivityAt=T0 + 600_000)
    folder.json("local_two", cwd=CWD, cliSessionId=None, createdAt=T0 + 5_000, lastActivityAt=T0 + 600_000)
    folder.json("local_fine", cwd=CWD, cliSessionId="dddddddd-0000-4000-8000-000000000000")
    only = "eeeeeeee-0000-4000-8000-000000000000"
    write_transcript(projects / "p" / f"{only}.jsonl", conversation(sid=only, start=T0))
    links = scan([locations.chosen(folder.root)], projects).links
    assert [(link.session.id, link.transcript.id) for link in links] == [("local_one", only)]


def test_a_record_with_a_broken_timestamp_is_not_matched(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    folder.write("local_x.json", dump(record("local_x", cwd=CWD, createdAt=None, cliSessionId=None)))
    write_transcript(tmp_path / "projects" / "p" / f"{SID}.jsonl", conversation())
    assert scan([locations.chosen(folder.root)], tmp_path / "projects").links == []


def test_a_repair_does_not_read_transcripts_or_main_log_it_has_no_use_for(tmp_path):
    folder = DataFolder(tmp_path / "Claude")
    folder.tmp("local_orphan")
    (folder.root / "logs").mkdir()
    (folder.root / "logs" / "main.log").write_text(
        "2026-05-01 10:00:00 [error] Failed to save session local_orphan: EXDEV: cross-device link\n")
    write_transcript(tmp_path / "projects" / "p" / f"{SID}.jsonl", conversation())
    dirs = [locations.chosen(folder.root)]
    full = scan(dirs, tmp_path / "projects")
    assert len(full.transcript_only) == 1 and full.folders[0].diagnosis.failures == 1
    bare = scan(dirs, tmp_path / "projects", details=False)
    assert bare.transcript_only == [] and bare.folders[0].diagnosis.failures == 0
    assert [s.id for s in bare.sessions] == [s.id for s in full.sessions]

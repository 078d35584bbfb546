"""The conversation in a transcript, read a page at a time: every message
once, in order, whatever the file holds."""

from __future__ import annotations

import json
from pathlib import Path

from test_transcripts import SID, conversation, write_transcript

from app.core import conversation as C


def all_pages(path: Path, **kw) -> list[C.Page]:
    pages, offset = [], 0
    while True:
        page = C.read_page(str(path), offset, **kw)
        pages.append(page)
        assert page.end > offset or page.done, "a page must move on"
        offset = page.end
        if page.done:
            return pages


def test_pages_cover_the_whole_transcript_once_in_order(tmp_path):
    lines = conversation(turns=40)
    path = write_transcript(tmp_path / f"{SID}.jsonl", lines)
    pages = all_pages(path, max_bytes=4096, max_messages=7)
    assert len(pages) > 5
    messages = [m for p in pages for m in p.messages]
    assert len(messages) == len(lines)  # every line here shows as a message
    assert [m.offset for m in messages] == sorted({m.offset for m in messages})
    assert pages[-1].end == path.stat().st_size
    first = messages[0]
    assert first.role == "user" and first.blocks[0].text == "Fix the flaky checkout test"
    call = messages[1]
    assert call.role == "assistant" and call.model == "claude-opus-5"
    assert [b.kind for b in call.blocks] == [C.TEXT, C.TOOL_USE] and call.blocks[1].name == "Bash"
    result = messages[2]
    assert result.only_tools and result.blocks[0].kind == C.TOOL_RESULT


def test_bookkeeping_and_subagent_lines_are_not_messages(tmp_path):
    lines = [{"type": "file-history-snapshot", "snapshot": {}},
             {"type": "queue-operation", "operation": "enqueue"},
             {"type": "user", "isSidechain": True, "message": {"role": "user", "content": "subagent"}},
             {"type": "user", "isMeta": True, "message": {"role": "user", "content": "meta"}},
             {"type": "summary", "summary": "What it was about"},
             {"type": "custom-title", "customTitle": "Renamed"},
             {"type": "assistant", "message": {"role": "assistant", "content": [
                 {"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Answer"},
                 {"type": "image", "source": {}}]}}]
    page = C.read_page(str(write_transcript(tmp_path / f"{SID}.jsonl", lines)))
    assert [m.role for m in page.messages] == ["summary", "title", "assistant"]
    assert [b.kind for b in page.messages[-1].blocks] == [C.THINKING, C.TEXT, C.IMAGE]


def test_a_line_too_long_to_show_is_stepped_over_with_a_note(tmp_path):
    huge = {"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "content": "z" * (C.LONGEST_SHOWN_LINE + 10)}]}}
    path = write_transcript(tmp_path / f"{SID}.jsonl", [conversation()[0], huge, *conversation()[1:3]])
    pages = all_pages(path)
    messages = [m for p in pages for m in p.messages]
    assert [m.role for m in messages] == ["user", "note", "assistant", "user"]
    assert "MB entry (user) is too long to show" in messages[1].blocks[0].text


def test_a_long_block_is_cut_for_showing_and_says_how_much_is_left(tmp_path):
    long_text = {"type": "assistant", "message": {"role": "assistant", "content": "w" * (C.TEXT_LIMIT + 500)}}
    page = C.read_page(str(write_transcript(tmp_path / f"{SID}.jsonl", [long_text])))
    block = page.messages[0].blocks[0]
    assert block.cut and len(block.text) == C.TEXT_LIMIT and block.length == C.TEXT_LIMIT + 500


def test_broken_lines_are_counted_not_fatal(tmp_path):
    path = write_transcript(tmp_path / f"{SID}.jsonl", conversation(turns=1), tail=b"not json\n{\"cut")
    pages = all_pages(path)
    assert sum(p.unreadable_lines for p in pages) == 2
    assert len([m for p in pages for m in p.messages]) == 4


def test_an_unreadable_or_missing_transcript_says_so(tmp_path):
    page = C.read_page(str(tmp_path / "missing.jsonl"))
    assert page.done and page.error and "cannot be read" in page.error
    (tmp_path / "binary.jsonl").write_bytes(bytes(range(256)) * 4000)
    assert all_pages(tmp_path / "binary.jsonl")[-1].done


def test_the_first_page_of_a_huge_transcript_reads_only_its_start(tmp_path):
    path = tmp_path / f"{SID}.jsonl"
    with path.open("wb") as f:
        line = (json.dumps(conversation()[0]) + "\n").encode()
        for _ in range((64 << 20) // len(line)):  # 64 MB
            f.write(line)
    page = C.read_page(str(path))
    assert len(page.messages) == C.PAGE_MESSAGES
    assert page.end < C.PAGE_BYTES + 4096 and not page.done

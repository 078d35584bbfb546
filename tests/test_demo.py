"""The demo data shows a user (and the screenshot) every status and every reason."""

from app.core import demo, locations, reasons
from app.core.records import STATUSES, TRANSCRIPT_ONLY
from app.core.scan import scan

from conftest import CAN_SYMLINK

# These cannot be carried by one demo folder: an unreadable or too large file
# (tests/test_hostile_files.py covers them), a second install's data folder
# and the user's own ~/.claude.json (tests/test_opens.py covers those).
NOT_IN_DEMO = {reasons.UNREADABLE, reasons.TOO_LARGE, reasons.OTHER_INSTALL, reasons.TRUST_OTHER_SPELLING,
               reasons.SANDBOX_COPIES_DIFFER}  # each has its own tests (test_opens, test_conversation_safety)


def test_demo_holds_every_status_and_every_reason(tmp_path):
    info = demo.write_demo(tmp_path / "Claude")
    missing = set(NOT_IN_DEMO)
    if CAN_SYMLINK:
        assert info.skipped == []
    else:  # Windows without the privilege to make links
        assert len(info.skipped) == 2
        missing |= {reasons.LINK_OUTSIDE, reasons.BROKEN_LINK}
    result = scan([locations.chosen(info.path)], info.transcripts)
    assert {s.status for s in result.sessions} == set(STATUSES)
    assert {s.status for s in result.transcript_only} == {TRANSCRIPT_ONLY}
    seen = {code for s in result.all_rows() for code in s.reasons}
    assert seen == set(reasons.DESCRIPTIONS) - missing
    assert len(result.sessions) == info.sessions
    assert {s.active for s in result.sessions} == {True, False}
    assert any(s.transcript_found for s in result.sessions)
    # A healthy session carries only reasons that inform (and never a fatal one).
    for s in result.sessions:
        if s.status == "healthy":
            assert set(s.reasons) <= reasons.INFORMATIONAL | {reasons.TOMBSTONED}, s
        else:
            assert not set(s.reasons) <= reasons.INFORMATIONAL, s


def test_demo_writes_nothing_outside_its_folder(tmp_path):
    target = tmp_path / "inner" / "Claude"
    demo.write_demo(target)
    assert [p.name for p in tmp_path.iterdir()] == ["inner"]
    assert [p.name for p in (tmp_path / "inner").iterdir()] == ["Claude"]


def test_demo_is_the_same_every_time(tmp_path):
    a, b = demo.write_demo(tmp_path / "a"), demo.write_demo(tmp_path / "b")
    files_a = sorted(p.relative_to(a.path) for p in a.path.rglob("*"))
    assert files_a == sorted(p.relative_to(b.path) for p in b.path.rglob("*"))
    for rel in files_a:
        pa, pb = a.path / rel, b.path / rel
        if pa.is_file() and not pa.is_symlink():
            assert pa.read_bytes() == pb.read_bytes(), rel

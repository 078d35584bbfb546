"""Each way a record file fails to load gets its own reason, and a way to find it."""

import pytest

from app.core import loader, reasons

from conftest import T0, dump, record

STEM = "local_0b1c"


def verdict(data: bytes) -> loader.Verdict:
    return loader.check_bytes(data, STEM)


def test_a_record_the_app_writes_loads():
    v = verdict(dump(record(STEM)))
    assert v.loadable and v.problems == () and v.fields["title"] == "A session"


def test_iso_timestamps_load():
    v = verdict(dump(record(STEM, createdAt="2026-09-01T10:00:00.000Z", lastActivityAt="2026-09-01T11:00:00Z")))
    assert v.loadable
    assert loader.timestamp_ms("2026-09-01T11:00:00Z") == 1788260400000.0


@pytest.mark.parametrize("data, code", [
    (b"", reasons.EMPTY),
    (b"\0" * 144_258, reasons.ZERO_FILLED),
    (dump(record(STEM))[:40], reasons.TRUNCATED),
    (b"\xef\xbb\xbf" + dump(record(STEM)), reasons.BOM),
    (dump(record(STEM))[:-1] + b",}", reasons.INVALID_JSON),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", reasons.BINARY),
    (dump(record(STEM)).replace(b'"completedTurns":1', b'"completedTurns":NaN'), reasons.NAN_OR_INFINITY),
    (dump(record(STEM)).replace(b'"completedTurns":1', b'"completedTurns":-Infinity'), reasons.NAN_OR_INFINITY),
    (b"[" + dump(record(STEM)) + b"]", reasons.NOT_OBJECT),
    (b'"just a string"', reasons.NOT_OBJECT),
    (dump(record("local_other")), reasons.ID_MISMATCH),
    (dump({k: v for k, v in record(STEM).items() if k != "sessionId"}), reasons.ID_MISMATCH),
    (dump(record(STEM, lastActivityAt=None)), reasons.NULL_TIMESTAMP),
    (dump({k: v for k, v in record(STEM).items() if k != "createdAt"}), reasons.NULL_TIMESTAMP),
    (dump(record(STEM, createdAt="last Tuesday")), reasons.BAD_TIMESTAMP),
    (dump(record(STEM, createdAt=True)), reasons.BAD_TIMESTAMP),
    (dump(record(STEM, createdAt={"ms": T0})), reasons.BAD_TIMESTAMP),
])
def test_every_rejection_has_its_reason(data, code):
    v = verdict(data)
    assert not v.loadable
    assert code in v.problems
    assert v.detail  # and a sentence for the person reading it


def test_a_bom_before_a_cut_record_says_both():
    v = verdict(b"\xef\xbb\xbf" + dump(record(STEM))[:30])
    assert v.problems == (reasons.BOM, reasons.TRUNCATED) and v.error_offset == 33


def test_a_file_of_blanks_is_empty():
    assert verdict(b" \r\n\t ").problems == (reasons.EMPTY,)


def test_zero_bytes_after_a_cut_record_say_both():
    data = dump(record(STEM))[:50] + b"\0" * 4000
    v = verdict(data)
    assert v.problems == (reasons.TRUNCATED, reasons.ZERO_FILLED)


def test_an_invalid_file_says_where_it_broke():
    data = '{\n  "sessionId": "local_0b1c",\n  "title": "café", "x": oops\n}'.encode()
    v = verdict(data)
    assert (v.problems, v.error_line, v.error_column) == ((reasons.INVALID_JSON,), 3, 25)
    assert v.error_offset == data.index(b"oops")  # in bytes, past the two-byte é


def test_bom_record_keeps_its_fields_so_the_user_recognises_it():
    v = verdict(b"\xef\xbb\xbf" + dump(record(STEM, title="Ship it")))
    assert v.fields["title"] == "Ship it" and v.problems == (reasons.BOM,)


def test_bad_utf8_inside_a_string_still_loads_as_node_reads_it():
    v = verdict(dump(record(STEM, title="caf")).replace(b"caf", b"caf\xe9"))
    assert v.loadable and v.problems == (reasons.INVALID_UTF8,)
    assert v.fields["title"] == "caf\ufffd"


def test_a_deeply_nested_record_loads_as_it_does_in_node():
    deep = b"[" * 100_000 + b"]" * 100_000
    v = verdict(dump(record(STEM))[:-1] + b',"x":' + deep + b"}")
    assert v.loadable


def test_booleans_are_not_timestamps():
    assert loader.timestamp_ms(False) is None and loader.timestamp_ms(0) == 0.0
    assert loader.timestamp_ms(float("inf")) is None


def test_every_reason_code_has_a_description():
    codes = [v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, str)]
    assert len(codes) >= 20
    assert all(code in reasons.DESCRIPTIONS for code in codes)


def test_length_is_counted_as_javascript_counts_it():
    # é is one UTF-16 unit in two bytes; ☕ one in three; 😀 two in four.
    assert loader.utf16_units("aé☕😀".encode()) == 5
    assert loader.utf16_units("aé☕😀".encode()) == len("aé☕😀".encode("utf-16-le")) // 2

"""Every hostile file the scanner may meet yields a status and a reason, never
a crash, a hang, or a changed byte."""

import json
import os
import subprocess
import sys

import pytest

from app.core import demo, loader, locations, reasons
from app.core.records import CORRUPT, HEALTHY
from app.core.scan import scan

from conftest import ROOT, DataFolder, as_unprivileged, dump, needs_symlinks, record, snapshot


def scan_folder(folder: DataFolder):
    return {s.id: s for s in scan([locations.chosen(folder.root)]).sessions}


def test_scanning_never_changes_a_byte(tmp_path):
    info = demo.write_demo(tmp_path / "Claude")
    folder = DataFolder(info.path)
    folder.json("local_huge", dump(record("local_huge", pad="x" * 3_000_000)))
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder.org / "local_fifo.json.tmp")
    before = snapshot(tmp_path)
    result = scan([locations.chosen(info.path)], info.transcripts)
    assert len(result.sessions) > 20
    assert snapshot(tmp_path) == before


def test_empty_zero_filled_and_binary_files(folder):
    folder.json("local_empty", b"")
    folder.json("local_zero", b"\0" * 144_258)
    folder.json("local_bin", os.urandom(1 << 16))
    folder.tmp("local_bin", bytes(range(256)) * 64)
    s = scan_folder(folder)
    assert s["local_empty"].reasons == (reasons.EMPTY,)
    assert s["local_zero"].reasons == (reasons.ZERO_FILLED,)
    assert s["local_bin"].status == CORRUPT and reasons.BINARY in s["local_bin"].reasons
    assert all(x.status == CORRUPT for x in s.values())


def test_a_100_mb_record_is_read_and_judged(folder):
    big = dump(record("local_big", remoteMcpServersConfig=["x" * 1000] * 100_000))
    assert len(big) > 100_000_000
    folder.json("local_big", big)
    folder.json("local_junk", b"{" + b"!" * 100_000_000)
    s = scan_folder(folder)
    assert s["local_big"].status == HEALTHY and s["local_big"].size == len(big)
    assert s["local_junk"].reasons == (reasons.INVALID_JSON,)


def test_a_record_nested_100000_levels_deep_loads_as_in_node(folder):
    deep = b"[" * 100_000 + b"]" * 100_000
    folder.json("local_deep", dump(record("local_deep"))[:-1] + b',"deep":' + deep + b"}")
    folder.json("local_cut", b'{"a":' + b"[" * 100_000)
    s = scan_folder(folder)
    assert s["local_deep"].status == HEALTHY
    assert s["local_cut"].reasons == (reasons.TRUNCATED,)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc and sparse files")
def test_a_file_too_large_for_javascript_is_judged_without_loading_it(folder):
    path = folder.org / "local_vast.json"
    size = loader.MAX_JS_STRING + 1
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: costs no disk
    # In a process of its own, so its peak memory is its own (VmHWM, Linux).
    code = ("import json; from app.core import locations; from app.core.scan import scan;"
            f"s = scan([locations.chosen({str(folder.root)!r})]).sessions[0];"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')];"
            "print(json.dumps([s.status, s.reasons, s.size, int(hwm[0].split()[1]) // 1024 if hwm else 0]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    status, codes, reported_size, peak_mb = json.loads(done.stdout)
    assert (status, codes, reported_size) == (CORRUPT, [reasons.TOO_LARGE], size)
    assert peak_mb < 200  # read in chunks: never the whole 512 MB at once


@needs_symlinks
def test_a_link_loop_is_a_broken_link(folder):
    os.symlink("local_loop.json", folder.org / "local_loop.json")
    (s,) = scan_folder(folder).values()
    assert s.reasons == (reasons.BROKEN_LINK,)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unreadable_file_is_reported_not_fatal(shared_tmp):
    folder = DataFolder(shared_tmp / "Claude")
    folder.json("local_ok")
    secret = folder.json("local_secret")
    for p in shared_tmp.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    secret.chmod(0o000)
    seen = as_unprivileged(lambda: {s.id: [s.status, list(s.reasons)] for s in scan_folder(folder).values()})
    assert seen == {"local_ok": ["healthy", []], "local_secret": ["corrupt", [reasons.UNREADABLE]]}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_data_folder_we_may_not_enter_is_a_warning_not_a_crash(shared_tmp):
    folder = DataFolder(shared_tmp / "Claude")
    folder.json("local_ok")
    for p in shared_tmp.rglob("*"):
        p.chmod(0o755)
    (shared_tmp / "Claude").chmod(0o000)

    def attempt():
        result = scan([locations.chosen(shared_tmp / "Claude")])
        return [len(result.sessions), result.folders[0].warnings]

    count, warnings = as_unprivileged(attempt)
    assert count == 0 and "Permission denied" in warnings[0]


@pytest.mark.parametrize("field", ["createdAt", "lastActivityAt"])
def test_a_time_too_large_for_a_float_is_a_bad_timestamp_not_a_crash(tmp_path, field):
    """A 400-digit integer is Infinity to JavaScript's JSON.parse: no time.
    One such record once stopped every scan (and so every repair)."""
    folder = DataFolder(tmp_path / "Claude")
    folder.json("local_huge", b'{"sessionId":"local_huge","createdAt":1,"lastActivityAt":2,"title":"huge"}'
                .replace(b'"%s":%s' % (field.encode(), b"1" if field == "createdAt" else b"2"),
                         b'"%s":%s' % (field.encode(), b"9" * 400)))
    folder.json("local_fine")
    result = scan([locations.chosen(str(folder.root))])
    by_id = {s.id: s for s in result.sessions}
    assert reasons.BAD_TIMESTAMP in by_id["local_huge"].reasons and by_id["local_huge"].status != HEALTHY
    assert by_id["local_fine"].status == HEALTHY
    done = subprocess.run([sys.executable, "-m", "app", "scan", "--json", "--data-dir", str(folder.root)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert {s["id"] for s in json.loads(done.stdout)["sessions"]} == {"local_huge", "local_fine"}


def test_an_account_name_cannot_add_lines_to_the_scan_table(tmp_path):
    """config.json says which account is active; its text is shown on one
    line of the table, newlines and all made harmless."""
    folder = DataFolder(tmp_path / "Claude")
    folder.json("local_a")
    fake = "x\n\nSTATUS   ID  TITLE\nhealthy  local_fake  All your sessions are fine"
    (folder.root / "config.json").write_text(json.dumps({"lastKnownAccountUuid": fake}), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "app", "scan", "--data-dir", str(folder.root)],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not any(line.startswith("healthy  local_fake") for line in done.stdout.splitlines())
    assert "All your sessions are fine" in done.stdout  # shown, on the account's own line

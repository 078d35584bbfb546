"""Claude Desktop's main.log says how often the MSIX rename bug struck."""

from __future__ import annotations

from datetime import date
from pathlib import Path, PureWindowsPath

from app.core import locations, mainlog
from app.core.locations import DataDir, Host

from conftest import run_cli

FOLDER = "C:\\Users\\ana\\AppData\\Roaming\\Claude\\claude-code-sessions\\acct\\org"


def failure(day: str, sid: str, bracket: bool = False) -> str:
    stamp = f"[{day} 10:00:01.123]" if bracket else f"{day} 10:00:01"
    path = f"{FOLDER}\\{sid}"
    return (f"{stamp} [error] Failed to save session {sid}: EXDEV: cross-device link not permitted, "
            f"rename '{path}.json.tmp' -> '{path}.json'\n")


def test_save_failures_are_counted_with_their_first_and_last_day(tmp_path):
    log = tmp_path / "main.log"
    log.write_text("2026-03-25 09:00:00 [info] Loaded 3 persisted sessions from " + FOLDER + "\n"
                   + failure("2026-03-25", "local_a") + failure("2026-04-02", "local_b")
                   + failure("2026-04-02", "local_a", bracket=True)
                   + "2026-04-02 10:00:11 [error] EXDEV: cross-device link not permitted, rename "
                     "'C:\\x\\manifest.json.tmp' -> 'C:\\x\\manifest.json'\n"
                   + "2026-04-03 10:00:00 [info] EXDEV mentioned in passing, not a failure\n")
    found = mainlog.diagnose([log])
    assert (found.failures, len(found.sessions), found.manifest_failures) == (3, 2, 1)
    assert (found.first, found.last) == (date(2026, 3, 25), date(2026, 4, 2))
    assert found.loaded_from == ("acct", "org")
    assert found.sentence() == (
        "Claude Desktop failed to save sessions 3 times since 25 March 2026 (last on 2 April 2026), for 2 "
        "sessions: this is the MSIX rename bug (EXDEV), which leaves sessions orphaned. It will happen again "
        "until Claude Desktop fixes it.")


def test_a_log_bigger_than_one_read_counts_each_line_once(tmp_path):
    log = tmp_path / "main.log"
    noise = "2026-05-01 10:00:00 [info] nothing to see here, just a long line of logging " + "." * 200 + "\n"
    with log.open("w") as f:
        for i in range(3796):  # the count in cc#46881
            f.write(noise * 7)
            f.write(failure("2026-05-%02d" % (1 + i % 28), f"local_{i % 50}"))
    assert log.stat().st_size > 2 * mainlog._CHUNK  # several reads, lines cut at their edges
    found = mainlog.diagnose([log])
    assert (found.failures, len(found.sessions)) == (3796, 50)
    assert "3,796 times since 1 May 2026" in (found.sentence() or "")


def test_no_log_or_a_quiet_log_says_nothing(tmp_path):
    quiet = tmp_path / "main.log"
    quiet.write_text("2026-05-01 10:00:00 [info] Loaded 3 persisted sessions from a/b\n")
    assert mainlog.diagnose([tmp_path / "missing.log", quiet]).sentence() is None
    binary = tmp_path / "binary.log"
    binary.write_bytes(bytes(range(256)) * 5000 + b"EXDEV" + b"\0" * 100)
    assert mainlog.diagnose([binary]).failures == 0


def test_the_old_log_and_the_new_one_are_read_together(tmp_path):
    logs = tmp_path / "Claude" / "logs"
    logs.mkdir(parents=True)
    (logs / "main.old.log").write_text(failure("2026-01-10", "local_a"))
    (logs / "main.log").write_text(failure("2026-02-10", "local_b"))
    data_dir = DataDir(tmp_path / "Claude", "linux", "Linux", True)
    found = mainlog.diagnose(locations.log_files(data_dir, Host("linux", {"HOME": "/home/ana"}, tmp_path)))
    assert (found.failures, found.first, found.last) == (2, date(2026, 1, 10), date(2026, 2, 10))


def test_the_log_is_looked_for_where_each_install_keeps_it(tmp_path):
    mac = Host("darwin", {"HOME": "/Users/ana"}, tmp_path)
    mac_data = DataDir(mac.local("/Users/ana/Library/Application Support/Claude"), "macos", "macOS", True)
    assert mac.local("/Users/ana/Library/Logs/Claude/main.log") in locations.log_files(mac_data, mac)
    win = Host("win32", {"USERPROFILE": "C:\\Users\\ana", "APPDATA": "C:\\Users\\ana\\AppData\\Roaming",
                         "LOCALAPPDATA": "C:\\Users\\ana\\AppData\\Local"}, tmp_path)
    msix = DataDir(win.local("C:\\Users\\ana\\AppData\\Local\\Packages\\Claude_pzs8sxrjxfjjc\\LocalCache\\Roaming"
                             "\\Claude"), locations.WINDOWS_MSIX, "Windows Store (MSIX)", True)
    found = locations.log_files(msix, win)
    # logs are excluded from MSIX virtualisation: the real %APPDATA%\Claude\logs
    assert win.local(str(PureWindowsPath("C:\\Users\\ana\\AppData\\Roaming\\Claude\\logs\\main.log"))) in found
    assert msix.path / "logs" / "main.log" in found


def test_scan_says_it_in_words_and_in_json(tmp_path):
    data = tmp_path / "Claude"
    assert run_cli("demo", str(data)).returncode == 0
    text = run_cli("scan", "--data-dir", str(data))
    assert "Claude Desktop failed to save sessions 5 times since 2 November 2026" in text.stdout
    doc = __import__("json").loads(run_cli("scan", "--data-dir", str(data), "--json").stdout)
    assert doc["data_dirs"][0]["main_log"]["exdev_save_failures"] == 5
    assert doc["data_dirs"][0]["main_log"]["first"] == "2026-11-02"
    assert Path(doc["data_dirs"][0]["main_log"]["log_files"][0]).name == "main.log"

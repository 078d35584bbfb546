"""Claude Desktop's main.log says how often the MSIX rename bug struck."""

from __future__ import annotations

import json
import os
import time
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
        "sessions: a known bug of its Windows Store install (the MSIX rename bug, EXDEV), which makes sessions "
        "vanish from its list; Repair brings them back. It will happen again until Claude Desktop fixes it.")


def test_a_log_bigger_than_one_read_counts_each_line_once(tmp_path):
    log = tmp_path / "main.log"
    noise = "2026-05-01 10:00:00 [info] nothing to see here, just a long line of logging " + "." * 200 + "\n"
    with log.open("w") as f:
        for i in range(3796):  # the count in cc#46881
            f.write(noise * 7)
            f.write(failure(f"2026-05-{1 + i % 28:02d}", f"local_{i % 50}"))
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


def load_line(day: str, count: int, folder: str = FOLDER) -> str:
    return f"{day} 09:00:00 [info] Loaded {count} persisted sessions from {folder}\n"


def initialized(day: str, count: int, manager: str = "LocalSessionManager", dash: str = "-") -> str:
    return (f"{day} 09:00:01 [info] [{manager}] Initialization succeeded {dash} accountId=acct, orgId=org, "
            f"existingSessions={count}\n")


def aged(path: Path, text: str, days_ago: int) -> Path:
    path.write_text(text)
    when = time.time() - days_ago * 86400
    os.utime(path, (when, when))
    return path


def test_a_load_line_in_the_rotated_main1_log_is_older_than_one_in_main_log(tmp_path):
    logs = tmp_path / "Claude" / "logs"
    logs.mkdir(parents=True)
    aged(logs / "main1.log", load_line("2026-09-01", 0), days_ago=3)
    aged(logs / "main.log", "noise\n" * 4 + load_line("2026-09-04", 34, FOLDER.replace("org", "org2")), days_ago=0)
    data_dir = DataDir(tmp_path / "Claude", "linux", "Linux", True)
    found = mainlog.diagnose(locations.log_files(data_dir, Host("linux", {"HOME": "/home/ana"}, tmp_path)))
    assert found.last_loaded_count == 34 and found.loaded_from == ("acct", "org2")
    assert found.last_loaded_source == mainlog.LogLine(
        str(logs / "main.log"), 5, date(2026, 9, 4), load_line("2026-09-04", 34, FOLDER.replace("org", "org2")).strip())


def test_the_newest_log_wins_whatever_order_the_logs_are_named_in(tmp_path):
    newer = aged(tmp_path / "main.log", load_line("2026-09-04", 0), days_ago=0)
    older = aged(tmp_path / "main1.log", load_line("2026-09-01", 12), days_ago=3)
    found = mainlog.diagnose([newer, older])
    assert (found.last_loaded_count, found.files) == (0, [str(older), str(newer)])


def test_a_load_of_no_sessions_after_one_of_many_is_the_count_kept(tmp_path):
    log = tmp_path / "main.log"
    log.write_text(load_line("2026-09-16", 34) + initialized("2026-09-16", 34)
                   + "2026-09-17 08:00:00 [info] Org changed from null to org, reinitializing sessions\n"
                   + initialized("2026-09-17", 0) + initialized("2026-09-17", 7, "LocalAgentModeSessionManager"))
    found = mainlog.diagnose([log])
    assert found.last_loaded_count == 0
    assert found.last_loaded_source is not None and found.last_loaded_source.line == 4
    assert found.loaded_from == ("acct", "org")  # the count moved on; the folder is still the last one named


def test_no_persisted_sessions_found_after_a_load_is_a_count_of_zero_until_the_next_load(tmp_path):
    log = tmp_path / "main.log"
    log.write_text(initialized("2026-09-16", 34) + "2026-09-17 08:00:00 [info] No persisted sessions found\n")
    assert mainlog.diagnose([log]).last_loaded_count == 0
    log.write_text(log.read_text() + initialized("2026-09-17", 5, dash="\u2014"))
    assert mainlog.diagnose([log]).last_loaded_count == 5


def test_a_log_without_a_load_line_says_nothing_about_the_count(tmp_path):
    log = tmp_path / "main.log"
    log.write_text(failure("2026-05-01", "local_a") + initialized("2026-09-17", 3, "LocalAgentModeSessionManager"))
    found = mainlog.diagnose([log])
    assert (found.last_loaded_count, found.last_loaded_source) == (None, None)


def test_the_load_line_of_a_log_bigger_than_one_read_is_found_with_its_line_number(tmp_path):
    log = tmp_path / "main.log"
    noise = "2026-05-01 10:00:00 [info] persisted sessions are fine " + "." * 200 + "\n"
    lines = 2 * mainlog._CHUNK // len(noise) + 3
    with log.open("w") as f:
        f.write(load_line("2026-05-01", 9) + noise * lines + load_line("2026-05-02", 2))
    found = mainlog.diagnose([log])
    assert found.last_loaded_count == 2
    assert found.last_loaded_source is not None and found.last_loaded_source.line == lines + 2


def ssh_tail(day: str, target: str, reason: str) -> str:
    return f"{day} 10:00:00 [warn] [SSH] Failed to tail remote transcript: {target}: {reason}\n"


def test_ssh_failures_are_counted_per_host_with_the_last_reason(tmp_path):
    log = tmp_path / "main.log"
    log.write_text(
        ssh_tail("2026-07-01", "root@62.238.23.200", "Permission denied (publickey,password).")
        + "2026-07-01 10:00:01 [error] [SSH2Connection] Connection error: read ECONNRESET\n"  # no host named yet
        + "2026-07-01 10:00:02 [info] [SSH2Connection] Resolved dev@box -> dev@10.0.0.5:22\n"
        + "2026-07-01 10:00:02 [info] [SSH2Connection] Connecting to dev@10.0.0.5:22 (agent: true, key: false)\n"
        + "2026-07-01 10:00:03 [error] [SSH2Connection] Connection error: connect ETIMEDOUT 10.0.0.5:22\n"
        + ssh_tail("2026-07-02", "root@62.238.23.200", "connect EHOSTUNREACH 62.238.23.200:22")
        + ssh_tail("2026-07-02", "me@fe80::1", "Connection refused")
        + "2026-07-02 10:00:04 [info] [SSH2Connection] Connected to dev@10.0.0.5:22\n")
    found = mainlog.diagnose([log])
    assert found.ssh_failures == {"root@62.238.23.200": 2, mainlog.UNKNOWN_HOST: 1, "dev@10.0.0.5": 1,
                                  "me@fe80::1": 1}
    assert found.ssh_last_reason["root@62.238.23.200"] == "connect EHOSTUNREACH 62.238.23.200:22"
    assert found.ssh_last_reason["dev@10.0.0.5"] == "connect ETIMEDOUT 10.0.0.5:22"


def test_a_connection_error_is_not_blamed_on_a_host_another_log_connected_to(tmp_path):
    first = aged(tmp_path / "main.log", "[SSH2Connection] Connecting to dev@10.0.0.5:22 (agent: true)\n", 1)
    second = aged(tmp_path / "ssh.log", "[error] [SSH2Connection] Connection error: read ECONNRESET\n", 0)
    assert mainlog.diagnose([first, second]).ssh_failures == {mainlog.UNKNOWN_HOST: 1}


def test_the_json_keeps_every_earlier_key_and_adds_the_new_ones(tmp_path):
    log = tmp_path / "main.log"
    log.write_text(load_line("2026-09-16", 3) + ssh_tail("2026-09-16", "a@b", "gone"))
    doc = mainlog.diagnose([log]).to_json()
    assert list(doc)[:7] == ["log_files", "exdev_save_failures", "sessions_affected", "first", "last",
                             "exdev_manifest_failures", "loaded_from"]
    assert doc["loaded_from"] == ["acct", "org"]
    assert doc["last_loaded_count"] == 3
    assert doc["last_loaded_source"] == {"file": str(log), "line": 1, "date": "2026-09-16",
                                         "text": load_line("2026-09-16", 3).strip()}
    assert (doc["ssh_failures"], doc["ssh_last_reason"]) == ({"a@b": 1}, {"a@b": "gone"})
    assert json.loads(json.dumps(doc)) == doc


def test_windows_logs_are_looked_for_in_local_appdata_too_and_rotated_ones_first(tmp_path):
    win = Host("win32", {"USERPROFILE": "C:\\Users\\ana", "APPDATA": "C:\\Users\\ana\\AppData\\Roaming",
                         "LOCALAPPDATA": "C:\\Users\\ana\\AppData\\Local"}, tmp_path)
    roaming = win.local("C:\\Users\\ana\\AppData\\Roaming\\Claude")
    local_logs = win.local("C:\\Users\\ana\\AppData\\Local\\Claude\\Logs")
    msix = DataDir(win.local("C:\\Users\\ana\\AppData\\Local\\Packages\\Claude_pzs8sxrjxfjjc\\LocalCache\\Roaming"
                             "\\Claude"), locations.WINDOWS_MSIX, "Windows Store (MSIX)", True)
    appdata = DataDir(roaming, locations.WINDOWS_APPDATA, "Windows (%APPDATA%)", True)
    names = ["main.old.log", "main1.log", "main.log", "ssh.log"]
    assert locations.log_files(appdata, win) == [roaming / "logs" / n for n in names] + [local_logs / n for n in names]
    assert locations.log_files(msix, win) == ([msix.path / "logs" / n for n in names]
                                              + [roaming / "logs" / n for n in names]
                                              + [local_logs / n for n in names])
    custom = DataDir(tmp_path / "copy" / "Claude", locations.CUSTOM, "chosen folder", True)
    assert locations.log_files(custom, win) == [custom.path / "logs" / n for n in names]


def test_a_log_in_local_appdata_is_read(tmp_path):
    win = Host("win32", {"USERPROFILE": "C:\\Users\\ana", "LOCALAPPDATA": "C:\\Users\\ana\\AppData\\Local"}, tmp_path)
    logs = win.local("C:\\Users\\ana\\AppData\\Local\\Claude\\Logs")
    logs.mkdir(parents=True)
    (logs / "main.log").write_text(failure("2026-08-01", "local_a") + initialized("2026-08-01", 0))
    data = DataDir(win.local("C:\\Users\\ana\\AppData\\Roaming\\Claude"), locations.WINDOWS_APPDATA, "x", True)
    found = mainlog.diagnose(locations.log_files(data, win))
    assert (found.failures, found.last_loaded_count) == (1, 0)

"""trust.py tells whether Claude Desktop finds a folder trusted in
~/.claude.json, under the spelling Desktop reads (failures reference, class P),
and never crashes or blocks on what it finds in that file's place."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from app.core import trust
from app.core.locations import Host

from conftest import needs_symlinks, posix_only

WIN_HOME = "C:\\Users\\ana"
PROJ = "C:\\Users\\ana\\proj"


def windows(tmp_path: Path, **env: str) -> Host:
    return Host("win32", {"USERPROFILE": WIN_HOME, **env}, tmp_path)


def linux(tmp_path: Path, **env: str) -> Host:
    return Host("linux", {"HOME": "/home/ana", **env}, tmp_path)


def write_config(host: Host, doc: object) -> Path:
    path = trust.config_path(host)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def projects(**entries: bool) -> dict[str, object]:
    return {"projects": {k: {"hasTrustDialogAccepted": v, "allowedTools": []} for k, v in entries.items()}}


def spelled(host: Host, *pairs: tuple[str, bool]) -> trust.TrustFile:
    write_config(host, {"projects": {k: {"hasTrustDialogAccepted": v} for k, v in pairs}})
    return trust.load(host)


def test_the_file_is_the_home_folders_unless_claude_config_dir_says_otherwise(tmp_path):
    assert trust.config_path(windows(tmp_path)) == tmp_path / "C:" / "Users" / "ana" / ".claude.json"
    assert trust.config_path(linux(tmp_path)) == tmp_path / "home" / "ana" / ".claude.json"
    moved = linux(tmp_path, CLAUDE_CONFIG_DIR="/srv/claude")
    assert trust.config_path(moved) == tmp_path / "srv" / "claude" / ".claude.json"


def test_a_folder_trusted_under_desktops_spelling_is_trusted(tmp_path):
    host = windows(tmp_path)
    write_config(host, projects(**{PROJ: True}))
    assert trust.load(host).verdict(PROJ, windows=True).state == "trusted"


def test_a_folder_trusted_only_with_forward_slashes_is_the_class_p_diagnosis(tmp_path):
    found = spelled(windows(tmp_path), ("C:/Users/ana/proj", True))
    state, sentence = found.verdict(PROJ, windows=True)
    assert state == "other-spelling"
    assert '"C:/Users/ana/proj"' in sentence and f'"{PROJ}", which is not there' in sentence


def test_desktop_looks_up_a_forward_slash_cwd_with_backslashes_on_windows(tmp_path):
    found = spelled(windows(tmp_path), ("C:/Users/ana/proj", True), (PROJ, False))
    state, sentence = found.verdict("C:/Users/ana/proj/", windows=True)
    assert state == "other-spelling" and "which is not trusted there" in sentence
    assert spelled(windows(tmp_path), (PROJ, True)).verdict("C:/Users/ana/proj/", windows=True).state == "trusted"


def test_a_folder_trusted_only_with_a_lower_case_drive_letter_is_the_class_p_diagnosis(tmp_path):
    found = spelled(windows(tmp_path), ("c:\\users\\ana\\proj", True))
    assert found.verdict(PROJ, windows=True).state == "other-spelling"


def test_every_spelling_of_the_folder_is_listed_and_no_other_folder(tmp_path):
    found = spelled(windows(tmp_path), ("C:/Users/ana/proj", True), ("c:\\users\\ana\\proj\\", False),
                    (PROJ, False), ("C:\\Users\\ana\\project", True), ("C:\\Users\\ana", True))
    assert found.keys_for(PROJ) == [trust.TrustKey("C:/Users/ana/proj", True),
                                    trust.TrustKey("c:\\users\\ana\\proj\\", False), trust.TrustKey(PROJ, False)]


def test_posix_paths_keep_their_case_but_not_a_trailing_slash(tmp_path):
    found = spelled(linux(tmp_path), ("/Users/x/", True), ("/users/x", True))
    assert found.keys_for("/Users/x") == [trust.TrustKey("/Users/x/", True)]
    assert found.verdict("/Users/x", windows=False).state == "other-spelling"
    assert spelled(linux(tmp_path), ("/Users/x", True)).verdict("/Users/x/", windows=False).state == "trusted"


def test_a_folder_named_but_never_accepted_is_untrusted(tmp_path):
    found = spelled(windows(tmp_path), (PROJ, False), ("C:/Users/ana/proj", False))
    assert found.verdict(PROJ, windows=True) == ("untrusted", f'{found.path} names this folder ("{PROJ}", '
                                                              '"C:/Users/ana/proj") but never as trusted.')


def test_a_folder_with_no_entry_is_unknown(tmp_path):
    found = spelled(windows(tmp_path), ("C:\\Users\\ana\\other", True))
    assert found.verdict(PROJ, windows=True).state == "unknown"
    host = linux(tmp_path / "fresh")
    write_config(host, {"numStartups": 1})  # no "projects" at all: a fresh install
    assert trust.load(host).problem is None and trust.load(host).verdict("/a", windows=False).state == "unknown"


def test_a_half_populated_entry_counts_as_present(tmp_path):
    found = spelled(linux(tmp_path), ("/a", True))
    assert found.verdict("/a", windows=False).state == "trusted"


def test_only_the_json_value_true_is_trust(tmp_path):
    host = linux(tmp_path)
    write_config(host, {"projects": {"/a": {"hasTrustDialogAccepted": "true"}, "/a/": {"hasTrustDialogAccepted": 1},
                                     "/b": True, "/b/": None, "/c": ["hasTrustDialogAccepted"], "/d": "x"}})
    found = trust.load(host)
    assert found.problem is None
    assert found.verdict("/a", windows=False).state == "untrusted"
    assert found.verdict("/b", windows=False).state == "untrusted"
    assert [k.accepted for k in found.keys_for("/c") + found.keys_for("/d")] == [False, False]


def test_projects_of_the_wrong_type_trusts_nothing_and_says_so(tmp_path):
    for value, kind in (([PROJ], "an array"), (PROJ, "a string"), (5, "a number"), (True, "a boolean")):
        host = windows(tmp_path / kind.replace(" ", "-"))
        write_config(host, {"projects": value})
        found = trust.load(host)
        assert found.problem == f'has a "projects" that is {kind}, not an object'
        assert found.verdict(PROJ, windows=True) == (
            "unknown", f"Whether Claude trusts {PROJ} is unknown: {found.path} {found.problem}.")
    host = linux(tmp_path / "list")
    write_config(host, [{"projects": {"/a": {"hasTrustDialogAccepted": True}}}])
    assert trust.load(host).problem == "does not hold a JSON object"


def test_a_missing_file_is_unknown(tmp_path):
    found = trust.load(linux(tmp_path))
    assert found.problem == "does not exist"
    assert found.verdict("/a", windows=False).state == "unknown"


def test_an_empty_file_cannot_be_read(tmp_path):
    host = linux(tmp_path)
    trust.config_path(host).parent.mkdir(parents=True)
    trust.config_path(host).write_bytes(b"")
    found = trust.load(host)
    assert found.problem and found.problem.startswith("cannot be read: it is not valid JSON")


def test_text_that_json_parse_rejects_cannot_be_read(tmp_path):
    for i, data in enumerate((b'{"projects": {"/a": ', b"\xef\xbb\xbf{}", b'{"projects": NaN}', b"\x00" * 100)):
        host = linux(tmp_path / str(i))
        trust.config_path(host).parent.mkdir(parents=True)
        trust.config_path(host).write_bytes(data)
        found = trust.load(host)
        assert found.problem and "not valid JSON" in found.problem, data
        assert found.verdict("/a", windows=False).state == "unknown"


def test_a_stray_bad_byte_is_read_as_node_reads_it(tmp_path):
    host = linux(tmp_path)
    trust.config_path(host).parent.mkdir(parents=True)
    trust.config_path(host).write_bytes(b'{"x": "\xff", "projects": {"/a": {"hasTrustDialogAccepted": true}}}')
    assert trust.load(host).verdict("/a", windows=False).state == "trusted"


@needs_symlinks
def test_a_link_in_its_place_is_not_followed(tmp_path):
    host = linux(tmp_path)
    real = tmp_path / "elsewhere.json"
    real.write_text(json.dumps(projects(**{"/a": True})))
    trust.config_path(host).parent.mkdir(parents=True)
    os.symlink(real, trust.config_path(host))
    found = trust.load(host)
    assert found.problem == "is a link, not a regular file, so it was not read"
    assert found.verdict("/a", windows=False).state == "unknown"


@posix_only
def test_a_fifo_in_its_place_does_not_block(tmp_path):
    host = linux(tmp_path)
    trust.config_path(host).parent.mkdir(parents=True)
    os.mkfifo(trust.config_path(host))
    result: list[trust.TrustFile] = []
    reader = threading.Thread(target=lambda: result.append(trust.load(host)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "load() is waiting for a writer on the FIFO"
    assert result[0].problem == "is a named pipe (FIFO), not a regular file, so it was not read"


def test_a_file_over_64_mb_is_refused_without_reading_it(tmp_path, monkeypatch):
    host = linux(tmp_path)
    path = trust.config_path(host)
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        f.write(json.dumps(projects(**{"/a": True})).encode() + b" ")
        f.truncate(trust.MAX_BYTES + 1)  # sparse: nothing written past the JSON
    read: list[int] = []
    real_read = os.read
    monkeypatch.setattr(trust.os, "read", lambda fd, n: read.append(n) or real_read(fd, n))
    found = trust.load(host)
    monkeypatch.undo()
    assert read == []  # told by its size, before a byte of it is read
    assert found.problem == "is 67,108,865 bytes, more than the 64 MB this tool reads"
    assert found.verdict("/a", windows=False).state == "unknown"


def test_a_file_of_several_mb_is_read(tmp_path):
    host = linux(tmp_path)
    doc = projects(**{f"/p/{i}": False for i in range(40_000)}, **{"/a": True})
    write_config(host, doc)
    assert trust.config_path(host).stat().st_size > 2 << 20
    assert trust.load(host).verdict("/a", windows=False).state == "trusted"

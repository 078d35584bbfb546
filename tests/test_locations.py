"""Discovery finds every Claude data folder on Windows, macOS and Linux.

Each test builds a fake machine under tmp_path (Windows drives as folders
named "C:" and "D:") and asks discovery what it finds there.
"""

import os
from pathlib import Path

import pytest

from app.core import locations as L

from conftest import as_unprivileged, needs_symlinks, posix_only

PKG = "Claude_pzs8sxrjxfjjc"
SID = "S-1-5-21-1004336348-1177238915-682003330-1001"
WIN_ENV = {"USERPROFILE": "C:\\Users\\Ana", "APPDATA": "C:\\Users\\Ana\\AppData\\Roaming",
           "LOCALAPPDATA": "C:\\Users\\Ana\\AppData\\Local"}


def make(root: Path, rel: str, sessions: bool = True) -> Path:
    path = root.joinpath(*rel.replace("\\", "/").split("/"))
    path.mkdir(parents=True, exist_ok=True)
    if sessions:
        (path / L.SESSIONS_FOLDER).mkdir()
    return path


def found(host: L.Host) -> list[tuple[str, str, bool]]:
    return [(str(d.path.relative_to(host.root)), d.install_type, d.has_sessions) for d in L.discover(host).found]


def test_windows_finds_appdata_msix_relocated_and_3p(tmp_path):
    make(tmp_path, "C:/Users/Ana/AppData/Roaming/Claude")
    make(tmp_path, f"C:/Users/Ana/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude")
    make(tmp_path, f"C:/Users/Ana/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude-3p", sessions=False)
    make(tmp_path, f"D:/WpSystem/{SID}/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude")
    make(tmp_path, "C:/Users/Ana/AppData/Local/Packages/Microsoft.Other_123/LocalCache/Roaming/Claude")
    host = L.Host("win32", WIN_ENV, tmp_path)
    assert found(host) == [
        (f"C:/Users/Ana/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude", "windows-msix", True),
        (f"C:/Users/Ana/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude-3p", "windows-msix-3p", False),
        (f"D:/WpSystem/{SID}/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude",
         "windows-msix-relocated", True),
        ("C:/Users/Ana/AppData/Roaming/Claude", "windows-appdata", True),
    ]
    labels = [d.label for d in L.discover(host).found]
    assert labels[0] == "Windows Store (MSIX)" and labels[2] == "Windows Store (MSIX), relocated to D:"
    assert labels[1].endswith("3P gateway")


def test_windows_classic_installer_is_named(tmp_path):
    make(tmp_path, "C:/Users/Ana/AppData/Roaming/Claude")
    make(tmp_path, "C:/Users/Ana/AppData/Local/AnthropicClaude/app-0.9.3", sessions=False)
    (d,) = L.discover(L.Host("win32", WIN_ENV, tmp_path)).found
    assert (d.install_type, d.label) == ("windows-appdata", "Windows (classic installer)")


def test_windows_appdata_defaults_from_userprofile(tmp_path):
    make(tmp_path, "C:/Users/Ana/AppData/Roaming/Claude")
    host = L.Host("win32", {"USERPROFILE": "C:\\Users\\Ana"}, tmp_path)
    assert found(host) == [("C:/Users/Ana/AppData/Roaming/Claude", "windows-appdata", True)]


@needs_symlinks
def test_one_folder_seen_through_a_reparse_point_is_listed_once(tmp_path):
    real = make(tmp_path, f"C:/Users/Ana/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude")
    roaming = tmp_path / "C:/Users/Ana/AppData/Roaming"
    roaming.mkdir(parents=True)
    os.symlink(real, roaming / "Claude")  # what the MSIX virtualisation looks like from outside
    assert [d.install_type for d in L.discover(L.Host("win32", WIN_ENV, tmp_path)).found] == ["windows-msix"]


def test_windows_reports_where_it_looked_when_nothing_is_there(tmp_path):
    (tmp_path / "C:").mkdir()
    (tmp_path / "E:").mkdir()
    result = L.discover(L.Host("win32", WIN_ENV, tmp_path))
    assert result.found == []
    text = "\n".join(result.searched)
    assert "Packages/Claude_*" in text and "AppData/Roaming/Claude" in text and "E:/WpSystem" in text


def test_macos_finds_application_support(tmp_path):
    make(tmp_path, "Users/ana/Library/Application Support/Claude")
    make(tmp_path, "Users/ana/Library/Application Support/Claude-3p")
    host = L.Host("darwin", {"HOME": "/Users/ana"}, tmp_path)
    assert found(host) == [("Users/ana/Library/Application Support/Claude", "macos", True),
                           ("Users/ana/Library/Application Support/Claude-3p", "macos-3p", True)]


@pytest.mark.parametrize("env, rel", [
    ({"HOME": "/home/ana"}, "home/ana/.config/Claude"),
    ({"HOME": "/home/ana", "XDG_CONFIG_HOME": "/srv/cfg"}, "srv/cfg/Claude"),
])
def test_linux_finds_the_xdg_config_folder(tmp_path, env, rel):
    make(tmp_path, rel)
    assert found(L.Host("linux", env, tmp_path)) == [(rel, "linux", True)]


def test_this_machine_uses_platformdirs(tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    expected = Path(platformdirs.user_config_dir()) / "Claude"
    expected.mkdir(parents=True)
    if L.Host.this_machine().family != "linux":
        pytest.skip("the live check is written for Linux")
    assert [d.path for d in L.discover().found] == [expected]


def test_chosen_folder_accepts_the_sessions_folder_and_folders_inside_it(tmp_path):
    data = make(tmp_path, "Claude")
    assert L.chosen(data / L.SESSIONS_FOLDER).path == data
    assert L.chosen(data / L.SESSIONS_FOLDER / "acct" / "org").path == data
    assert L.chosen(data).has_sessions


@pytest.mark.parametrize("path, kind", [
    (f"C:\\Users\\A\\AppData\\Local\\Packages\\{PKG}\\LocalCache\\Roaming\\Claude", "windows-msix"),
    (f"D:\\WpSystem\\{SID}\\AppData\\Local\\Packages\\{PKG}\\LocalCache\\Roaming\\Claude",
     "windows-msix-relocated"),
    ("C:\\Users\\A\\AppData\\Roaming\\Claude-3p", "windows-appdata-3p"),
    ("/Users/a/Library/Application Support/Claude", "macos"),
    ("/home/a/.config/Claude", "linux"),
    ("/mnt/backup/copy", "custom"),
])
def test_a_chosen_folder_is_named_from_its_path(path, kind):
    assert L.guess_install_type(Path(path))[0] == kind


def test_transcripts_follow_claude_config_dir(tmp_path):
    assert L.transcripts_dir(L.Host("linux", {"HOME": "/home/a"}, tmp_path)) == tmp_path / "home/a/.claude/projects"
    host = L.Host("win32", {"USERPROFILE": "C:\\Users\\A", "CLAUDE_CONFIG_DIR": "E:\\cc"}, tmp_path)
    assert L.transcripts_dir(host) == tmp_path / "E:" / "cc" / "projects"


@posix_only
def test_a_folder_we_may_not_enter_does_not_stop_discovery(shared_tmp):
    mine = make(shared_tmp, f"D:/WpSystem/{SID}/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude")
    make(shared_tmp, f"D:/WpSystem/S-1-5-21-9-9-9-1002/AppData/Local/Packages/{PKG}/LocalCache/Roaming/Claude")
    make(shared_tmp, "C:/Users/Ana/AppData/Local/Packages", sessions=False)
    for p in shared_tmp.rglob("*"):
        p.chmod(0o755)
    (shared_tmp / "D:" / "WpSystem" / "S-1-5-21-9-9-9-1002").chmod(0o000)  # another user's storage
    (shared_tmp / "C:" / "Users" / "Ana" / "AppData" / "Local").chmod(0o000)  # a locked-down profile
    host = L.Host("win32", WIN_ENV, shared_tmp)
    found = as_unprivileged(lambda: [str(d.path) for d in L.discover(host).found])
    assert found == [str(mine)]


def test_a_data_folder_that_carries_its_transcripts_is_read_with_them(tmp_path):
    data = make(tmp_path, "copy/Claude")
    host = L.Host("linux", {"HOME": "/home/a"}, tmp_path)
    assert L.transcripts_dir(host, [L.chosen(data)]) == tmp_path / "home/a/.claude/projects"
    (data / L.OWN_TRANSCRIPTS).mkdir(parents=True)
    assert L.transcripts_dir(host, [L.chosen(data)]) == data / L.OWN_TRANSCRIPTS

"""Sessions on relocated MSIX storage live past Windows' 260-character limit."""

import ntpath

import pytest

from app.core import locations
from app.core.longpaths import plain, to_extended
from app.core.records import HEALTHY, ORPHANED
from app.core.scan import scan

from conftest import DataFolder

SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


@pytest.mark.parametrize("path, extended", [
    ("D:\\WpSystem\\x\\local_a.json", "\\\\?\\D:\\WpSystem\\x\\local_a.json"),
    ("D:/WpSystem/x/../y/./local_a.json", "\\\\?\\D:\\WpSystem\\y\\local_a.json"),  # normalised first
    ("\\\\nas\\share\\Claude", "\\\\?\\UNC\\nas\\share\\Claude"),
    ("\\\\?\\D:\\already", "\\\\?\\D:\\already"),
])
def test_windows_paths_get_their_extended_form(path, extended):
    assert to_extended(path) == extended
    assert plain(to_extended(path)) == plain(ntpath.normpath(path))  # and back, to what a person typed


def test_people_see_the_plain_form():
    assert plain("\\\\?\\D:\\WpSystem") == "D:\\WpSystem"
    assert plain("\\\\?\\UNC\\nas\\share") == "\\\\nas\\share"
    assert plain("/home/ana/.config/Claude") == "/home/ana/.config/Claude"


def test_a_data_folder_deeper_than_max_path_is_scanned(tmp_path):
    deep = tmp_path / "D" / "WpSystem" / SID / "AppData" / "Local" / "Packages" / "Claude_pzs8sxrjxfjjc"
    root = deep / "LocalCache" / "Roaming" / ("Claude-" + "x" * 60) / "Claude"
    folder = DataFolder(root, "7f3c2a9e-5b1d-4c8e-9a26-3e0f4d6b8c21", "0d9e4f7a-2c31-4b5a-8e6f-1a2b3c4d5e6f")
    folder.json("local_0b1c5d6e-1234-4abc-8def-0123456789ab")
    tmp = folder.tmp("local_9f8e7d6c-4321-4cba-8fed-ba9876543210")
    assert len(str(tmp)) > 300
    result = scan([locations.chosen(root)])
    assert sorted(s.status for s in result.sessions) == [HEALTHY, ORPHANED]
    assert {s.tmp.path for s in result.sessions if s.tmp} == {str(tmp)}  # shown plain

"""slug() names the folder the Claude Code CLI keeps a cwd's transcripts in,
exactly as the CLI bundle's JavaScript does (failures reference, class U).

The JavaScript is the reference, so the expected names for long paths are
computed by Node running that JavaScript, not by Python."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from app.core import slug as S

# The rule quoted from the shipped CLI bundle, as JavaScript.  The hash runs
# over cwd (the reading app/core/slug.py documents).
CLI_SLUG_JS = r"""
const MAX = 200;
function hash(s) { let h = 0; for (let i = 0; i < s.length; i++) h = ((h << 5) - h + s.charCodeAt(i)) | 0; return h; }
function slug(cwd) {
  const key = cwd.replace(/[^a-zA-Z0-9]/g, "-");
  if (key.length <= MAX) return key;
  return key.slice(0, MAX) + "-" + Math.abs(hash(cwd)).toString(36);
}
let input = ""; process.stdin.on("data", d => input += d);
process.stdin.on("end", () => process.stdout.write(JSON.stringify(JSON.parse(input).map(slug))));
"""

LONG_WINDOWS = "C:\\Users\\Ana\\source\\repos\\" + "\\".join(f"deeply-nested-folder-{i:02d}" for i in range(10))


def node_slugs(cwds: list[str]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed: the JavaScript reference cannot run")
    done = subprocess.run([node, "-e", CLI_SLUG_JS], input=json.dumps(cwds), capture_output=True, text=True,
                          timeout=60, check=True)
    out: list[str] = json.loads(done.stdout)
    return out


def int_min_hash_path() -> str:
    """A path whose hash is -2**31, the one int32 whose absolute value is not
    an int32: JavaScript's Math.abs gives 2**31.  The last seven units are
    base-31 digits chosen to land there."""
    head = "/" + "p" * 210
    h = 0
    for ch in head:
        h = (h * 31 + ord(ch)) % 2**32
    target = (2**31 - h * 31**7) % 2**32
    digits = [(target // 31**i) % 31 for i in reversed(range(7))]
    return head + "".join(map(chr, digits))


def test_a_windows_path_becomes_the_documented_folder_name():
    assert S.slug("C:\\Users\\You\\Proj") == "C--Users-You-Proj"


def test_a_posix_path_becomes_the_documented_folder_name():
    assert S.slug("/home/a/b") == "-home-a-b"


def test_each_non_ascii_letter_becomes_one_dash():
    assert S.slug("/home/zoë/café") == "-home-zo--caf-"


def test_an_emoji_becomes_two_dashes_because_javascript_counts_utf16_units():
    assert S.slug("/x/\U0001F600") == "-x---"
    assert node_slugs(["/x/\U0001F600"]) == ["-x---"]


def test_a_key_of_exactly_200_units_is_used_as_it_is():
    cwd = "/" + "a" * 199
    assert S.slug(cwd) == "-" + "a" * 199
    assert not S.is_long(cwd)


def test_a_key_of_201_units_is_cut_to_200_and_given_a_hash():
    cwd = "/" + "a" * 200
    name = S.slug(cwd)
    assert S.is_long(cwd)
    assert name.startswith("-" + "a" * 199 + "-") and len(name) > 201
    assert [name] == node_slugs([cwd])


def test_a_262_unit_path_gets_a_207_unit_folder_like_the_one_observed():
    cwd = "/Users/ana/work/" + "x" * 200 + "/" + "y" * 45
    assert len(cwd) == 262
    name = S.slug(cwd)
    assert len(name) == 207 and name[200] == "-"
    assert [name] == node_slugs([cwd])


def test_long_paths_match_the_cli_javascript_exactly():
    cwds = [
        "/" + "a" * 200,
        LONG_WINDOWS,
        LONG_WINDOWS.lower(),  # drive letter and case change the hash
        "/home/zoë/" + "é" * 250,
        "/x/" + "a" * 196 + "\U0001F600" + "tail" * 10,  # an emoji cut in half at unit 200
        "/" + "\U0001F600" * 150,
        "/lone/" + "\ud800" + "b" * 220,  # a lone surrogate is one unit in JavaScript too
        int_min_hash_path(),
    ]
    assert [S.slug(c) for c in cwds] == node_slugs(cwds)


def test_the_hash_of_minus_2_to_the_31_is_its_javascript_absolute_value():
    name = S.slug(int_min_hash_path())
    assert name.endswith("-" + "zik0zk")  # (2**31).toString(36)
    assert [name] == node_slugs([int_min_hash_path()])


def test_a_short_cwd_matches_only_its_exact_folder():
    assert S.folder_matches("C--Users-You-Proj", "C:\\Users\\You\\Proj")
    assert not S.folder_matches("c--Users-You-Proj", "C:\\Users\\You\\Proj")  # another spelling, another folder
    assert not S.folder_matches("C--Users-You-Proj-abc123", "C:\\Users\\You\\Proj")


def test_a_long_cwd_matches_its_first_200_units_whatever_the_hash():
    cwd = LONG_WINDOWS
    head = S.key(cwd)[:200]
    assert S.folder_matches(S.slug(cwd), cwd)
    assert S.folder_matches(head + "-1a2b3c4d5e6f", cwd)  # a build that hashes differently
    assert not S.folder_matches(head, cwd)
    assert not S.folder_matches(head + "-", cwd)
    assert not S.folder_matches(S.slug(cwd)[:199] + "X-1a2b3c", cwd)


def test_the_unhashed_folder_of_a_long_path_is_not_taken_for_its_folder():
    cwd = "/" + "a" * 199 + "/more/of/the/path"  # unit 200 is a separator
    assert not S.folder_matches(S.key(cwd), cwd)
    assert S.folder_matches(S.slug(cwd), cwd)

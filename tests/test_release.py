"""Getting the program: the release workflow, and the program's self-check.

The workflows are read as GitHub reads them (YAML), and the steps that can
run on Linux run here for real (the tag check, the SHA-256 sums).  The
Windows and macOS executables cannot be built on Linux: where a step needs
them, real stand-in files take their names.  tests/test_exe.py runs the
Linux smoke test on the executable it builds.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app import __version__
from app.core import selfcheck
from app.gui import help_texts

from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
SHA256_HEX = re.compile(r"\b[0-9a-f]{64}\b")
ASSETS = {"SessionRescue.exe", "SessionRescue-macos-arm64", "SessionRescue-linux-x86_64"}


def workflow(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    # YAML 1.1 reads the key "on" as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def step(job: dict, name: str) -> dict:
    found = [s for s in job["steps"] if s.get("name") == name]
    assert len(found) == 1, f"no single step named {name!r}"
    return found[0]


def run_step(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A step's ``run``, as GitHub runs it on Linux (bash -e -o pipefail)."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd=cwd,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


# ------------------------------------------------------------ the workflow


def test_the_release_runs_on_version_tags_only():
    on = workflow("release.yml")["on"]
    assert on == {"push": {"tags": ["v*"]}}


def test_the_release_builds_each_system_with_the_steps_windows_ci_uses():
    release, shared = workflow("release.yml"), workflow("exe.yml")
    build = release["jobs"]["build"]
    assert build["uses"] == "./.github/workflows/exe.yml"
    matrix = build["strategy"]["matrix"]["include"]
    assert {m["asset"] for m in matrix} == ASSETS
    assert sorted(m["runner"].split("-")[0] for m in matrix) == ["macos", "ubuntu", "windows"]
    inputs = shared["on"]["workflow_call"]["inputs"]
    required = {name for name, spec in inputs.items() if spec.get("required")}
    windows_ci = workflow("windows.yml")["jobs"]["exe"]
    for caller in (build, windows_ci):
        assert caller["uses"] == "./.github/workflows/exe.yml"
        assert required <= set(caller["with"]) <= set(inputs)  # actionlint cannot check a local workflow's inputs
    assert windows_ci["with"]["runner"].startswith("windows")


def test_the_sums_cover_every_executable_and_go_up_with_them():
    jobs = workflow("release.yml")["jobs"]
    release = jobs["release"]
    assert release["needs"] == "build"
    download = release["steps"][0]
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["pattern"] == "release-*" and download["with"]["merge-multiple"] is True
    assert jobs["build"]["with"]["artifact"] == "release-${{ matrix.asset }}"
    sums = step(release, "SHA-256 sums")["run"]
    summed = re.search(r"sha256sum (.*) > SHA256SUMS\.txt", sums)
    assert summed and set(summed.group(1).split()) == ASSETS
    attach = step(release, "Attach to the release")
    files = re.search(r"files=\((.*)\)", attach["run"])
    assert files and set(files.group(1).split()) == ASSETS | {"SHA256SUMS.txt"}
    assert "gh release upload" in attach["run"] and "gh release create" in attach["run"]
    assert attach["env"]["GH_TOKEN"] == "${{ github.token }}"


def test_only_the_release_job_may_write():
    for name in ("release.yml", "exe.yml", "windows.yml"):
        doc = workflow(name)
        assert doc["permissions"] == {"contents": "read"}, name
        for job_name, job in doc["jobs"].items():
            if (name, job_name) == ("release.yml", "release"):
                assert job["permissions"] == {"contents": "write"}
            else:
                assert "write" not in str(job.get("permissions", "")), (name, job_name)


def test_every_action_is_pinned_to_a_commit_and_names_its_version():
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            used = re.search(r"uses: (\S+)(.*)", line)
            if used is None or used.group(1).startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", used.group(1)), line
            assert re.fullmatch(r" # v\d+(\.\d+)*", used.group(2)), line


def test_the_smoke_tests_on_windows_and_elsewhere_expect_the_same():
    """The Windows smoke test (cmd, in exe.yml) and the one for Linux and
    macOS (.github/scripts/smoke-test.sh) check the same numbers; test_exe.py
    runs the second on a real executable, so both follow the demo data."""
    windows = step(workflow("exe.yml")["jobs"]["exe"], "Smoke test (Windows)")["run"]
    posix = (ROOT / ".github" / "scripts" / "smoke-test.sh").read_text(encoding="utf-8")
    cmd_checks = re.findall(r'findstr /c:"\\"([\w-]+)\\": (\d+)" (\w+)\.json', windows)
    sh_checks = re.findall(r"grep -qF '\"([\w-]+)\": (\d+)' (\w+)\.json", posix)
    assert len(cmd_checks) == 5 and sorted(cmd_checks) == sorted(sh_checks)
    for command in ("demo", "scan", "rebuild", "adopt", "undo --last", "repair", "gui", "autostart enable",
                    "autostart status", "autostart disable"):
        assert f"SessionRescue.exe {command}" in windows and f'"$exe" {command}' in posix, command


def test_the_release_stops_when_the_tag_is_not_the_version(tmp_path):
    check = step(workflow("release.yml")["jobs"]["version"], "Compare")["run"]
    assert run_step(check, ROOT, {"GITHUB_REF_NAME": f"v{__version__}"}).returncode == 0
    wrong = run_step(check, ROOT, {"GITHUB_REF_NAME": "v999.0.0"})
    assert wrong.returncode == 1 and f"is not v{__version__}" in wrong.stdout


def test_the_sums_step_writes_what_sha256sum_checks(tmp_path):
    """The release job's own command, on stand-ins for the three executables
    (Windows and macOS ones cannot be built here)."""
    for i, name in enumerate(sorted(ASSETS)):
        (tmp_path / name).write_bytes(os.urandom(1000 + i))
    sums = step(workflow("release.yml")["jobs"]["release"], "SHA-256 sums")["run"]
    assert run_step(sums, tmp_path, {}).returncode == 0
    lines = (tmp_path / "SHA256SUMS.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"{hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()}  {n}" for n in ASSETS)
    assert subprocess.run(["sha256sum", "--check", "SHA256SUMS.txt"], cwd=tmp_path).returncode == 0
    (tmp_path / "SessionRescue-macos-arm64").unlink()  # one build missing: no release
    assert run_step(sums, tmp_path, {}).returncode != 0


# ------------------------------------------------------------ the self-check


@pytest.fixture
def frozen_as(monkeypatch):
    """Pretend to be a frozen build whose executable is ``path``.  Only that
    is pretended (sys.frozen and sys.executable, which PyInstaller sets and a
    test process cannot have); the file itself is real and really read."""
    def pretend(path: Path) -> None:
        monkeypatch.setattr(sys, "frozen", True, raising=False)
        monkeypatch.setattr(sys, "executable", str(path))
    return pretend


def test_from_source_there_is_no_single_file_to_check(monkeypatch, tmp_path):
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert selfcheck.own_executable() is None
    assert selfcheck.known() == selfcheck.fingerprint() == selfcheck.Fingerprint(None)
    text = help_texts.about(tmp_path / "backups", selfcheck.fingerprint())
    assert f"Session Rescue {__version__}" in text and "Running from source" in text
    assert not SHA256_HEX.search(text)


def test_a_frozen_build_shows_its_version_and_the_sha256_of_its_own_file(frozen_as, tmp_path):
    exe = tmp_path / "Session Rescue" / "SessionRescue.exe"
    exe.parent.mkdir()
    content = os.urandom(3 * selfcheck.CHUNK + 12345)  # several pieces and a part of one
    exe.write_bytes(content)
    frozen_as(exe)
    assert selfcheck.own_executable() == exe
    assert selfcheck.known() is None  # not read yet: the window shows "working it out"
    check = selfcheck.fingerprint()
    assert check.sha256 == hashlib.sha256(content).hexdigest()
    assert selfcheck.known() == check  # read once, then known at once
    text = help_texts.about(tmp_path / "backups", check)
    assert f"Session Rescue {__version__}" in text
    assert SHA256_HEX.findall(text) == [hashlib.sha256(content).hexdigest()]
    assert "SHA256SUMS.txt" in text and str(exe) in text
    assert "working it out" in help_texts.about(tmp_path / "backups", None)


def test_a_replaced_executable_is_read_again(frozen_as, tmp_path):
    exe = tmp_path / "SessionRescue"
    exe.write_bytes(b"first")
    frozen_as(exe)
    assert selfcheck.fingerprint().sha256 == hashlib.sha256(b"first").hexdigest()
    exe.write_bytes(b"second, longer")
    assert selfcheck.known() is None
    assert selfcheck.fingerprint().sha256 == hashlib.sha256(b"second, longer").hexdigest()


def test_an_executable_that_cannot_be_read_says_so(frozen_as, tmp_path):
    frozen_as(tmp_path / "gone.exe")
    check = selfcheck.fingerprint()
    assert check.path == tmp_path / "gone.exe" and check.sha256 is None and check.problem
    text = help_texts.about(tmp_path / "backups", check)
    assert "could not be read" in text and not SHA256_HEX.search(text)


def test_version_shows_the_sha256_only_when_frozen(frozen_as, tmp_path, capsys, monkeypatch):
    from app.cli import main

    monkeypatch.delattr(sys, "frozen", raising=False)
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"session-rescue {__version__}\n"
    exe = tmp_path / "SessionRescue"
    exe.write_bytes(b"\x7fELF stand-in")
    frozen_as(exe)
    with pytest.raises(SystemExit):
        main(["--version"])
    digest = hashlib.sha256(exe.read_bytes()).hexdigest()
    assert capsys.readouterr().out == f"session-rescue {__version__}\nSHA-256 of {exe}: {digest}\n"


# ------------------------------------------------------------ the About box


def about_box(window):
    boxes = [b for b in window.findChildren(help_texts.AboutBox) if b.isVisible()]
    assert len(boxes) == 1
    return boxes[0]


def test_the_about_box_opens_at_once_and_fills_in_the_sha256(qtbot, tmp_path, frozen_as):
    from test_gui import open_window

    exe = tmp_path / "SessionRescue.exe"
    exe.write_bytes(os.urandom(45_000_000))  # as big as the real one
    digest = hashlib.sha256(exe.read_bytes()).hexdigest()
    frozen_as(exe)
    window = open_window(qtbot, tmp_path, [])
    window.about()
    box = about_box(window)
    # Shown before the file is read: the reading is a worker's, and its
    # answer can only arrive through the event loop.
    assert "working it out" in box.text() and f"Session Rescue {__version__}" in box.text()
    qtbot.waitUntil(lambda: digest in box.text(), timeout=30_000)
    assert SHA256_HEX.findall(box.text()) == [digest]
    box.close()
    qtbot.waitUntil(lambda: not window.findChildren(help_texts.AboutBox), timeout=5_000)  # deleted on close
    window.about()  # the second time, known at once
    assert digest in about_box(window).text()


def test_the_about_box_closed_before_the_answer_comes_is_no_trouble(qtbot, tmp_path, frozen_as):
    from test_gui import open_window

    exe = tmp_path / "SessionRescue.exe"
    exe.write_bytes(os.urandom(20_000_000))
    frozen_as(exe)
    window = open_window(qtbot, tmp_path, [])
    window.about()
    about_box(window).close()
    qtbot.waitUntil(lambda: selfcheck.known() is not None, timeout=30_000)  # the worker has read it
    qtbot.wait(100)  # and its answer, queued for a box that is gone, arrives
    assert not window.findChildren(help_texts.AboutBox)
    window.about()
    assert hashlib.sha256(exe.read_bytes()).hexdigest() in about_box(window).text()


def test_the_about_box_from_source_says_so(qtbot, tmp_path, monkeypatch):
    from test_gui import open_window

    monkeypatch.delattr(sys, "frozen", raising=False)
    window = open_window(qtbot, tmp_path, [])
    window.about()
    box = about_box(window)
    assert "Running from source" in box.text() and not SHA256_HEX.search(box.text())


def test_the_readme_download_link_leads_to_the_latest_release_of_whichever_repository_shows_it():
    """GitHub shows the README at /<owner>/<repo>/blob/<branch>/README.md and
    resolves a relative link against that page, as a browser resolves any
    link: so ../../releases/latest is the repository's latest release, with
    no owner's name written down to go stale (or to be a placeholder)."""
    from urllib.parse import urljoin

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    windows = readme.split("## For Windows users", 1)[1].split("\n## ", 1)[0]
    links = re.findall(r"\[latest release\]\(([^)]+)\)", windows)
    assert len(links) == 1
    page = "https://github.com/someone/session-rescue/blob/main/README.md"
    assert urljoin(page, links[0]) == "https://github.com/someone/session-rescue/releases/latest"


def test_every_link_to_a_part_of_the_readme_leads_to_a_heading():
    """GitHub gives each heading an anchor: lower-cased, punctuation dropped,
    spaces made hyphens.  A link to a heading that was renamed leads nowhere."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    anchors = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
               for heading in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", readme)
    assert len(links) >= 12
    assert [link for link in links if link not in anchors] == []

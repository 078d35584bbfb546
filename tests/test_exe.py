"""The one-file executable: built for real with build_exe.spec, then used as a
user would, double-click (the window, here offscreen) and terminal alike."""

from __future__ import annotations

import ast
import json
import os
import runpy
import shutil
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

from app import __version__
from app.core import demo

from conftest import ROOT, hermetic, run_cli

EXE_NAME = "SessionRescue.exe" if sys.platform == "win32" else "SessionRescue"
LINUX_SIZE_GOAL = 45_000_000  # bytes (issue #5: 45 MB or less on Linux)
# What the executable leaves out: the list build_exe.spec builds with.
DROP = runpy.run_path(str(ROOT / "build_exe_drop.py"))


@pytest.fixture(scope="module")
def exe(tmp_path_factory) -> Path:
    if shutil.which("pyinstaller", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("PyInstaller is not installed (pip install -e '.[test]' brings it)")
    work = tmp_path_factory.mktemp("build")
    pyinstaller = shutil.which("pyinstaller", path=str(Path(sys.executable).parent))
    done = subprocess.run([pyinstaller, "--noconfirm", "--clean", "--distpath", str(work / "dist"),
                           "--workpath", str(work / "build"), str(ROOT / "build_exe.spec")],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    path = work / "dist" / EXE_NAME
    assert path.is_file()
    return path


def run_exe(exe: Path, *args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """The executable, as a user runs it; no Claude Desktop of this machine in its way (conftest.hermetic)."""
    return subprocess.run(hermetic([str(exe)], args), capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.slow
def test_the_executable_is_one_small_file(exe):
    size = exe.stat().st_size
    print(f"\n{exe.name}: {size:,} bytes ({size / 1e6:.1f} MB)")
    if sys.platform.startswith("linux"):
        assert size <= LINUX_SIZE_GOAL
    assert run_exe(exe, "--version").stdout.splitlines()[0] == f"session-rescue {__version__}"


def held(exe: Path) -> tuple[list[str], list[str]]:
    """What the executable holds: the paths of its files (and links), and the
    modules in its PYZ archive (PyInstaller's own readers)."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(exe))
    return list(archive.toc), list(archive.open_embedded_archive("PYZ.pyz").toc)


@pytest.mark.slow
def test_the_executable_holds_nothing_the_drop_list_leaves_out(exe):
    """Every file in the executable passes build_exe_drop.wanted(), and no
    module it excludes is in it: what the spec meant to leave out is out."""
    files, modules = held(exe)
    assert "PYZ.pyz" in files and any(name.startswith("PySide6/") for name in files)
    assert "app.gui.main_window" in modules and "PySide6" in modules
    assert [name for name in files if not DROP["wanted"](name)] == []
    excluded = tuple(DROP["EXCLUDES"])
    assert [name for name in modules if name in excluded or name.startswith(tuple(f"{e}." for e in excluded))] == []


@pytest.mark.parametrize("name", [
    # Windows: the Direct2D platform, styles (the app always uses Fusion),
    # input plugins, and a DLL as an importer may spell it.
    "PySide6/plugins/platforms/qdirect2d.dll", "PySide6/plugins/styles/qmodernwindowsstyle.dll",
    "PySide6/plugins/generic/qtuiotouchplugin.dll", "PySide6/QT6NETWORK.DLL", "PySide6\\Qt6Network.dll",
    "PySide6/opengl32sw.dll", "PySide6/translations/qtbase_de.qm",
    # Linux: EGL and Wayland libraries, also as the links at the top.
    "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6", "libQt6EglFSDeviceIntegration.so.6",
    "PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6", "PySide6/Qt/lib/libQt6WlShellIntegration.so.6",
    "libQt6WlShellIntegration.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "libQt6Network.so.6",
    "PySide6/Qt/plugins/platforms/libqwayland.so", "PySide6/Qt/plugins/platformthemes/libqgtk3.so", "libgtk-3.so.0",
    # macOS: QtNetwork's framework and its links, the macOS style, image formats.
    "PySide6/Qt/lib/QtNetwork.framework/Versions/A/QtNetwork", "PySide6/Qt/lib/QtNetwork.framework/Resources",
    "QtNetwork", "PySide6/Qt/plugins/styles/libqmacstyle.dylib", "PySide6/Qt/plugins/imageformats/libqmacheif.dylib",
])
def test_the_drop_list_leaves_out(name):
    assert not DROP["wanted"](name)


@pytest.mark.parametrize("name", [
    "PySide6/Qt6Core.dll", "PySide6/Qt6Gui.dll", "PySide6/Qt6Widgets.dll", "PySide6/Qt6Svg.dll",
    "PySide6/MSVCP140.dll", "PySide6/plugins/platforms/qwindows.dll", "PySide6/plugins/iconengines/qsvgicon.dll",
    "PySide6/Qt/lib/libQt6Core.so.6", "libQt6Gui.so.6", "PySide6/Qt/lib/libQt6XcbQpa.so.6",
    "PySide6/Qt/lib/libQt6DBus.so.6", "PySide6/Qt/lib/libicudata.so.73", "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/plugins/imageformats/libqsvg.so", "libX11.so.6",
    "PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets", "QtGui", "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
    "shiboken6/libshiboken6.abi3.so.6.11", "PYZ.pyz", "resources/icons/session-rescue.svg",
])
def test_the_drop_list_keeps(name):
    assert DROP["wanted"](name)


def _only_restates(test: ast.expr) -> bool:
    """Whether an assert's test only says what mypy is told by it: that a
    value is there (``x is not None``), its type (``isinstance``), that two
    names are one object, or a name's truth; and any of these joined by and."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return all(_only_restates(v) for v in test.values)
    if isinstance(test, ast.Compare):
        names = all(isinstance(e, ast.Name | ast.Attribute) for e in (test.left, *test.comparators))
        not_none = all(isinstance(op, ast.IsNot) for op in test.ops) and all(
            isinstance(c, ast.Constant) and c.value is None for c in test.comparators)
        return not_none or (names and all(isinstance(op, ast.Is) for op in test.ops))
    if isinstance(test, ast.Call):
        return isinstance(test.func, ast.Name) and test.func.id == "isinstance"
    return isinstance(test, ast.Name | ast.Attribute)


# Asserts of another shape, each read and found to restate what the code
# before it made sure of (the path, and the assert's test, as ast.unparse gives it).
RESTATED = {
    # _decide hashes the source of every move (its fstat is ``read``).
    ("app/core/engine.py", "read is not None or item.op == COPY"),
}


def test_what_the_executable_strips_is_never_needed():
    """build_exe.spec compiles every module as ``python -OO`` does
    (build_exe_drop.OPTIMIZE): without docstrings and asserts.  So nothing in
    app/ reads a docstring (copying one onto a wrapper is no reading), and an
    assert only restates what the code before it made sure of, mostly for
    mypy; a check that matters at run time raises instead.  An assert of
    another shape is read, and if it only restates, listed in RESTATED."""
    assert DROP["OPTIMIZE"] == 2
    checks, reads = [], []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        name = path.relative_to(ROOT).as_posix()
        copies = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                  and all(isinstance(t, ast.Attribute) and t.attr == "__doc__" for t in n.targets)}
        for node in ast.walk(tree):
            where = f"{name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Assert) and not _only_restates(node.test) \
                    and (name, ast.unparse(node.test)) not in RESTATED:
                checks.append(f"{where}: assert {ast.unparse(node.test)}")
            doc = (isinstance(node, ast.Attribute) and node.attr == "__doc__") or \
                (isinstance(node, ast.Name) and node.id == "__doc__")
            if doc and isinstance(node.ctx, ast.Load) and id(node) not in copies:
                reads.append(where)
    assert checks == [] and reads == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum on this system")
def test_the_executable_shows_the_sha256_that_sha256sum_gives(exe):
    """What the About box and --version show is what users compare with the
    release's SHA256SUMS.txt (made with sha256sum)."""
    summed = subprocess.run(["sha256sum", str(exe)], capture_output=True, text=True, check=True).stdout.split()[0]
    shown = run_exe(exe, "--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [f"session-rescue {__version__}", f"SHA-256 of {exe}: {summed}"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="Windows runs the cmd smoke test in exe.yml")
def test_the_release_smoke_test_passes(exe, tmp_path):
    """The smoke test that the release runs on Linux and macOS
    (.github/scripts/smoke-test.sh), on this executable."""
    done = subprocess.run(hermetic(["bash", str(ROOT / ".github" / "scripts" / "smoke-test.sh"), str(exe)], ()),
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.rstrip().endswith(f"smoke test passed: {exe}")


@pytest.mark.slow
def test_the_executable_scans_exactly_like_the_source_tree(exe, tmp_path):
    data = demo.write_demo(tmp_path / "Claude").path
    frozen = run_exe(exe, "scan", "--json", "--data-dir", str(data))
    source = run_cli("scan", "--json", "--data-dir", str(data))
    assert frozen.returncode == source.returncode == 0, frozen.stderr
    assert json.loads(frozen.stdout) == json.loads(source.stdout)
    assert len(json.loads(frozen.stdout)["sessions"]) == 34
    assert len(json.loads(frozen.stdout)["transcript_only"]) == 5  # one of them a stub, never rebuilt
    rebuilt = run_exe(exe, "rebuild", "--dry-run", "--json", "--data-dir", str(data))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["summary"]["planned"] == 5  # 2 new records, 2 links, 1 stub set aside


@pytest.mark.slow
def test_the_executable_repairs_and_undoes_and_keeps_its_exit_codes(exe, tmp_path):
    data = demo.write_demo(tmp_path / "Claude").path
    backups = tmp_path / "backups"
    repaired = run_exe(exe, "repair", "--json", "--data-dir", str(data), "--backup-dir", str(backups))
    assert repaired.returncode == 0, repaired.stderr
    report = json.loads(repaired.stdout)
    assert report["summary"]["done"] == 10  # its SHA-256 (without OpenSSL) and its engine work
    undone = run_exe(exe, "undo", report["run_id"], "--backup-dir", str(backups))
    assert undone.returncode == 0 and "10 sessions put back" in undone.stdout
    wrong = run_exe(exe, "undo")
    assert wrong.returncode == 2 and "say which change to undo" in wrong.stderr
    # Its errors and hints name what the user runs: an executable's user has no "session-rescue".
    assert wrong.stderr.startswith(f"{EXE_NAME}: ") and f"'{EXE_NAME} backups'" in wrong.stderr
    table = run_exe(exe, "scan", "--data-dir", str(data))
    assert f"run: {EXE_NAME} repair --data-dir" in table.stdout and "session-rescue" not in table.stdout


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "darwin", reason="a macOS build is an app bundle, not tested here")
def test_the_executable_opens_the_window_and_takes_its_screenshot(exe, tmp_path):
    from PySide6.QtGui import QImage

    data = demo.write_demo(tmp_path / "Claude").path
    shot = tmp_path / "window.png"
    done = run_exe(exe, "gui", "--data-dir", str(data), "--screenshot", str(shot),
                   env={"QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path / "state")})
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 780)
    assert len({image.pixel(x, y) for x in range(0, 1280, 37) for y in range(0, 780, 23)}) > 20


def test_the_windows_manifest_runs_as_the_user_with_long_paths():
    """What build_exe.spec embeds on Windows: no admin prompt, and paths past
    260 characters (relocated MSIX storage) work."""
    doc = xml.dom.minidom.parse(str(ROOT / "resources" / "windows" / "SessionRescue.manifest"))
    levels = [e.getAttribute("level") for e in doc.getElementsByTagName("requestedExecutionLevel")]
    assert levels == ["asInvoker"]
    long_paths = doc.getElementsByTagName("longPathAware")
    assert [e.firstChild.data for e in long_paths] == ["true"]
    spec = (ROOT / "build_exe.spec").read_text()
    assert "SessionRescue.manifest" in spec and "console=False" in spec and 'name="SessionRescue"' in spec


def test_the_icons_the_executable_carries_hold_every_size():
    from PySide6.QtGui import QImageReader

    reader = QImageReader(str(ROOT / "resources" / "icons" / "session-rescue.ico"))
    sizes = []
    for i in range(reader.imageCount()):
        reader.jumpToImage(i)
        sizes.append(reader.read().width())
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
    assert (ROOT / "resources" / "icons" / "session-rescue.icns").read_bytes()[:4] == b"icns"

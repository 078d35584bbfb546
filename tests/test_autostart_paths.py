"""Autostart entries survive any path: whatever the folder the program lives
in is called, the entry runs exactly that program with exactly its arguments,
and a path that cannot be written safely is refused.

Linux entries are checked three ways: read back by status(), by a reference
reader written here from the Desktop Entry Specification alone, and, where
GLib's Python bindings exist on this machine, launched for real by GLib.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core import autostart
from app.core.locations import Host

# Each is put into the program's folder name and given as an argument as well.
HOSTILE = {
    "field-code-f": "%f",
    "field-code-u": "%u",
    "double-percent": "%%",
    "trailing-percent": "100%",
    "space": "My Apps",
    "double-quote": 'say "hi"',
    "single-quote": "O'Brien",
    "backslash": "back\\slash",
    "two-backslashes": "back\\\\slash",
    "trailing-backslash": "end\\",
    "dollar-home": "$HOME",
    "backtick": "`id`",
    "semicolon": "a;b",
    "ampersand": "a&b",
    "pipe": "a|b",
    "asterisk": "a*b",
    "question-mark": "a?b",
    "hash": "#start",
    "equals": "a=b",
    "tilde": "~user",
    "parentheses": "Program Files (x86)",
    "angle-brackets": "<a>",
    "e-acute": "Café",
    "chinese": "中文",
    "emoji": "🦀",
    "typographic-quotes": "O’Brien ‘a’ ‚b‛ “c” „d",
    "line-separator": "a\u2028b",  # not a line break in a key file, but one to str.splitlines()
}


def hostile_command(text: str) -> list[str]:
    return [f"/opt/{text}/session-rescue", text]


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host("linux", {"HOME": "/home/ana"}, root=tmp_path)


def exec_value(entry: Path) -> str:
    lines = entry.read_text(encoding="utf-8").split("\n")
    return next(line for line in lines if line.startswith("Exec="))[len("Exec="):]


# ------------------------------------------- a reader written from the spec


_SPEC_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_SPEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_SPEC_TOKEN = re.compile(r'"(?P<quoted>(?:[^"\\]|\\["`$\\])*)"|(?P<bare>[^ "]+)|(?P<gap> +)')


def reference_argv(value: str) -> list[str]:
    """What a launcher following the Desktop Entry Specification runs: kept
    apart from the product's reader on purpose (regular expressions, not a
    character loop), so that a shared misreading cannot hide."""
    # 1. "Possible value types": the string escapes of every value.
    unescaped = re.sub(r"\\(.)", lambda m: _SPEC_STRING_ESCAPES[m.group(1)], value, flags=re.DOTALL)
    # 2. "The Exec key": whole arguments in double quotes, \ before " ` $ \ .
    argv: list[str] = []
    position = 0
    for token in _SPEC_TOKEN.finditer(unescaped):
        assert token.start() == position, f"unparsable Exec value at {unescaped[position:]!r}"
        position = token.end()
        if token["quoted"] is not None:
            argv.append(re.sub(r"\\(.)", r"\1", token["quoted"]))
        elif token["bare"] is not None:
            assert not _SPEC_RESERVED & set(token["bare"]), f"reserved character unquoted in {token['bare']!r}"
            argv.append(token["bare"])
    assert position == len(unescaped), f"unparsable Exec value at {unescaped[position:]!r}"

    # 3. Field codes, after the quotes: "%%" is "%", any other is a file to fill in.
    def field_code(m: re.Match[str]) -> str:
        assert m.group(1) == "%", f"field code %{m.group(1)} would be expanded by the launcher"
        return "%"

    return [re.sub("%(.)", field_code, arg, flags=re.DOTALL) for arg in argv]


# ----------------------------------------------------------------- Linux


def through_env(cmd: list[str]) -> list[str]:
    """What the entry runs: a program whose path holds a "%" is started by env
    (GLib looks for the program before it undoes "%%")."""
    return ["env", *cmd] if "%" in cmd[0] else cmd


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_any_path_reads_back_and_runs_as_the_exact_command(host: Host, text: str) -> None:
    cmd = hostile_command(text)
    entry = autostart.enable(host, cmd)
    value = exec_value(entry)
    assert autostart.status(host).command == [*cmd, "watch"]  # what "autostart status" shows
    assert reference_argv(value) == through_env([*cmd, "watch"])  # what a launcher runs
    assert "%" not in value.replace("%%", ""), f"a bare % is left in {value!r}"


def test_a_percent_sign_in_the_path_is_not_a_field_code(host: Host) -> None:
    entry = autostart.enable(host, ["/opt/100% %f/session-rescue", "%u", "%%"])
    assert exec_value(entry) == 'env "/opt/100%% %%f/session-rescue" %%u %%%% watch'
    assert autostart.status(host).command == ["/opt/100% %f/session-rescue", "%u", "%%", "watch"]


def test_a_percent_only_in_the_arguments_needs_no_env(host: Host) -> None:
    entry = autostart.enable(host, ["/opt/apps/session-rescue", "100%"])
    assert exec_value(entry) == "/opt/apps/session-rescue 100%% watch"


@pytest.mark.parametrize("cmd", [["env", "--data-dir", "/d"], ["env", "/opt/100%/session-rescue"]],
                         ids=["env-then-option", "env-then-percent-path"])
def test_a_command_that_is_env_itself_reads_back_exactly(host: Host, cmd: list[str]) -> None:
    autostart.enable(host, cmd)
    assert autostart.status(host).command == [*cmd, "watch"]


@pytest.mark.parametrize("program", ["/opt/100%=x/session-rescue", "-x%/session-rescue"],
                         ids=["percent-and-equals", "percent-and-leading-dash"])
def test_a_program_path_env_would_misread_is_refused_and_nothing_is_written(host: Host, program: str) -> None:
    # env takes "NAME=VALUE" for a variable to set (GNU env: any argument
    # holding "="), and "-x" for an option, not for the program to run.
    with pytest.raises(OSError) as refused:
        autostart.enable(host, [program])
    assert "'%'" in str(refused.value) and "\n" not in str(refused.value)
    assert not autostart.entry_path(host).parent.exists()


def test_a_backslash_in_a_quoted_argument_is_four_in_the_file(host: Host) -> None:
    entry = autostart.enable(host, ["/opt/a\\b/session-rescue"])
    assert exec_value(entry) == '"/opt/a\\\\\\\\b/session-rescue" watch'


@pytest.mark.parametrize("bad", ["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\udcff"],
                         ids=["newline", "carriage-return", "tab", "nul", "escape", "delete", "c1-next-line",
                              "undecodable-byte"])
def test_a_path_with_a_control_character_is_refused_and_nothing_is_written(host: Host, tmp_path: Path,
                                                                          bad: str) -> None:
    with pytest.raises(OSError) as refused:
        autostart.enable(host, [f"/opt/a{bad}b/session-rescue"])
    message = str(refused.value)
    assert "control character" in message and "\n" not in message  # one line, for the CLI's "failed: ..."
    assert not autostart.entry_path(host).parent.exists()
    assert not autostart.status(host).enabled


# ------------------------------------------- GLib, the launcher GNOME uses

_GLIB_LAUNCH = """
import sys
import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio
try:
    info = Gio.DesktopAppInfo.new_from_filename(sys.argv[1])
except TypeError:  # the constructor returned NULL: GLib will not run this entry
    info = None
if info is None:
    print("refused")
else:
    print("launched" if info.launch([], None) else "failed")
"""

# A program that writes the arguments it was started with, NUL-separated.
_RECORDER = '#!/bin/sh\nprintf \'%s\\0\' "$0" "$@" > "$ARGV_OUT.part" && mv "$ARGV_OUT.part" "$ARGV_OUT"\n'


def _python_with_gio() -> str | None:
    probe = "import gi; gi.require_version('Gio', '2.0'); from gi.repository import Gio"
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", probe], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def gio_python() -> str:
    found = _python_with_gio()
    if found is None:
        pytest.skip("GLib's Python bindings (gi) are not installed on this machine")
    return found


def recorder(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_RECORDER)
    path.chmod(0o755)
    return path


def glib_launch(gio_python: str, entry: Path, out: Path) -> list[str] | None:
    """What GLib runs for the entry, or None when GLib refuses to load it."""
    env = {**os.environ, "ARGV_OUT": str(out)}
    done = subprocess.run([gio_python, "-c", _GLIB_LAUNCH, str(entry)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() in ("launched", "refused"), done.stdout + done.stderr
    if done.stdout.strip() == "refused":
        return None
    deadline = time.monotonic() + 20
    while not out.exists():
        assert time.monotonic() < deadline, "the launched program never ran"
        time.sleep(0.05)
    return out.read_bytes().decode().split("\0")[:-1]


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_glib_launches_the_exact_command(host: Host, tmp_path: Path, gio_python: str, text: str) -> None:
    # The text is in the program's folder and in its argument.  GLib checks
    # that the program exists before it undoes "%%" (it would look for
    # ".../100%%/prog" and refuse the entry, silently): a program whose path
    # holds a "%" is started through env, and must still receive exactly this.
    program = recorder(tmp_path / "apps" / text / "prog")
    entry = autostart.enable(host, [str(program), text])
    assert glib_launch(gio_python, entry, tmp_path / "argv") == [str(program), text, "watch"]


PERCENT_NAMES = {"percent-f": "prog%f", "percent-u-first": "%u prog", "double-percent": "prog%%",
                 "percent-percent-f": "%%f", "trailing-percent": "100%", "percent-and-quote": "it's 100% \"x\""}


@pytest.mark.parametrize("name", PERCENT_NAMES.values(), ids=PERCENT_NAMES.keys())
def test_glib_launches_a_program_whose_own_name_holds_a_percent(host: Host, tmp_path: Path, gio_python: str,
                                                                name: str) -> None:
    program = recorder(tmp_path / "apps" / "plain" / name)
    entry = autostart.enable(host, [str(program), "--data-dir", str(tmp_path / "100% %f")])
    assert glib_launch(gio_python, entry, tmp_path / "argv") == [str(program), "--data-dir",
                                                                 str(tmp_path / "100% %f"), "watch"]
    assert autostart.status(host).command == [str(program), "--data-dir", str(tmp_path / "100% %f"), "watch"]


@pytest.mark.parametrize("code", ["%f", "%u", "%U", "%%"])
def test_a_percent_in_the_program_path_never_runs_another_program(host: Host, tmp_path: Path, gio_python: str,
                                                                  code: str) -> None:
    # Were the field code left bare, GLib would fill it with nothing and run
    # the decoy "apps/odd  dir/prog" instead (or, for "%%", "apps/odd % dir/prog").
    program = recorder(tmp_path / "apps" / f"odd {code} dir" / "prog")
    recorder(tmp_path / "apps" / "odd  dir" / "prog")
    recorder(tmp_path / "apps" / "odd % dir" / "prog")
    entry = autostart.enable(host, [str(program)])
    assert glib_launch(gio_python, entry, tmp_path / "argv") == [str(program), "watch"]


# ------------------------------------------------ the program it starts


def test_the_python_form_does_not_search_the_folder_it_starts_in(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """At logon the entry starts in the home folder: a folder named "app"
    there must not be the program that runs."""
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "pytest")])  # not the session-rescue script
    monkeypatch.delattr(sys, "frozen", raising=False)
    cmd = autostart.command()
    assert cmd == [sys.executable, "-P", "-m", "app"]
    decoy = tmp_path / "home" / "app"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    (decoy / "__main__.py").write_text("print('the decoy ran')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    done = subprocess.run([*cmd, "--version"], cwd=decoy.parent, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "decoy" not in done.stdout and "session-rescue" in done.stdout, done
    # Without -P, the same folder would have won: the test is not vacuous.
    plain = subprocess.run([sys.executable, "-m", "app", "--version"], cwd=decoy.parent, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert plain.stdout.strip() == "the decoy ran"


# ---------------------------------------------------------------- Windows
#
# PowerShell cannot run on this Linux machine, so these tests check the command
# line and the environment that enable() hands to it, and the last one replaces
# subprocess.run with a recorder: the one place here where a mock is justified.

WINDOWS_PATHS = {
    "apostrophe": "C:\\Users\\O'Brien\\SessionRescue.exe",
    "right-single-quote": "C:\\Users\\O’Brien\\SessionRescue.exe",
    "left-single-quote": "C:\\Users\\O‘Brien\\SessionRescue.exe",
    "single-low-9-quote": "C:\\Users\\O‚Brien\\SessionRescue.exe",
    "reversed-9-quote": "C:\\Users\\O‛Brien\\SessionRescue.exe",
    "double-quotes": "C:\\Users\\“Ana”\\SessionRescue.exe",
    "low-double-quote": "C:\\Users\\„Ana\\SessionRescue.exe",
    "subexpression": "C:\\Users\\x’$(Remove-Item C:\\ -Recurse)’\\SessionRescue.exe",
    "semicolon": "C:\\Users\\a’; calc; ’b\\SessionRescue.exe",
    "backtick": "C:\\Users\\a`’b\\SessionRescue.exe",
}


def windows_shortcut(name: str) -> Path:
    return Path(f"C:\\Users\\{name}\\AppData\\Roaming\\Startup\\x.lnk")


@pytest.mark.parametrize("exe", WINDOWS_PATHS.values(), ids=WINDOWS_PATHS.keys())
def test_no_path_becomes_powershell_code(exe: str) -> None:
    shortcut = windows_shortcut("O’Brien’$(x)")
    argv, _ = autostart.shortcut_command(shortcut, [exe, "watch"])
    assert argv[:4] == ["powershell", "-NoProfile", "-NonInteractive", "-Command"]
    script = argv[-1]
    assert script == autostart.SHORTCUT_SCRIPT  # one constant text, whatever the path
    assert exe not in script and str(shortcut) not in script
    assert not any(c in script for c in "’‘‚‛“”„")


@pytest.mark.parametrize("exe", WINDOWS_PATHS.values(), ids=WINDOWS_PATHS.keys())
def test_the_paths_reach_powershell_exactly_through_its_environment(exe: str) -> None:
    shortcut = windows_shortcut("O’Brien")
    _, env = autostart.shortcut_command(shortcut, [exe, "--data-dir", "D:\\O’Brien’s data", "watch"])
    assert env == {"SR_SHORTCUT": str(shortcut), "SR_TARGET": exe,
                   "SR_ARGUMENTS": '--data-dir "D:\\O’Brien’s data" watch',
                   "SR_WORKDIR": exe.rsplit("\\", 1)[0]}
    for name in env:  # and the script reads each one, as a value
        assert f"$env:{name}" in autostart.SHORTCUT_SCRIPT
    assert "$s.WindowStyle = 7" in autostart.SHORTCUT_SCRIPT and "$s.Description = " in autostart.SHORTCUT_SCRIPT


def test_enable_hands_powershell_the_paths_in_its_environment(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    exe = WINDOWS_PATHS["subexpression"]
    host = Host("win32", {"APPDATA": str(tmp_path / "Roaming")}, root=None)
    monkeypatch.setattr(Host, "is_live", property(lambda self: True))  # "this is Windows"
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        env = kwargs["env"]
        assert isinstance(env, dict)
        calls.append((argv, env))
        Path(env["SR_SHORTCUT"]).write_bytes(b"")  # what PowerShell would have made
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)  # the module autostart calls
    path = autostart.enable(host, [exe])
    [(argv, env)] = calls
    assert argv[-1] == autostart.SHORTCUT_SCRIPT and exe not in " ".join(argv)
    assert env["SR_TARGET"] == exe and env["SR_SHORTCUT"] == str(path) and env["SR_ARGUMENTS"] == "watch"
    assert env["PATH"] == os.environ["PATH"]  # the rest of the environment, as it was

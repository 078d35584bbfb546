"""Where Claude Desktop keeps its data, on every kind of install.

Discovery is a function of (platform, environment, file-system root) so that
the tests can build a fake Windows, macOS or Linux home on any machine and
check what we find in it.  On the real machine the base folders come from
platformdirs, which asks the OS (on Windows, the known-folder API) instead of
trusting environment variables.

Storage reference §1 lists the candidates:

* Windows: ``%APPDATA%\\Claude``; the MSIX package's real folder
  ``%LOCALAPPDATA%\\Packages\\Claude_*\\LocalCache\\Roaming\\Claude``; package
  storage moved to another drive, ``X:\\WpSystem\\<SID>\\AppData\\Local\\Packages\\
  Claude_*\\LocalCache\\Roaming\\Claude``;
* macOS: ``~/Library/Application Support/Claude``;
* Linux: ``$XDG_CONFIG_HOME/Claude`` (``~/.config/Claude``);
* and ``Claude-3p`` beside each of them (3P / gateway mode).
"""

from __future__ import annotations

import os
import re
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

SESSIONS_FOLDER = "claude-code-sessions"
OWN_TRANSCRIPTS = ".claude/projects"  # inside a data folder that carries its transcripts along
# Written by `session-rescue demo` into the demo data folder: its changes are
# backed up inside it, apart from the user's real backups.
DEMO_MARKER = "session-rescue-demo.txt"
DEMO = "demo"
APP_FOLDERS = ("Claude", "Claude-3p")

WINDOWS_APPDATA = "windows-appdata"
WINDOWS_MSIX = "windows-msix"
WINDOWS_MSIX_RELOCATED = "windows-msix-relocated"
MACOS = "macos"
LINUX = "linux"
CUSTOM = "custom"


@dataclass(frozen=True)
class Host:
    """The machine we look at: its platform, its environment, and where its
    file system starts (``root=None`` is this machine's own file system)."""

    platform: str  # as sys.platform says it: "win32", "darwin", "linux"
    env: Mapping[str, str] = field(default_factory=dict)
    root: Path | None = None

    @classmethod
    def this_machine(cls) -> Host:
        return cls(sys.platform, os.environ, None)

    @property
    def is_live(self) -> bool:
        return self.root is None and self.platform == sys.platform

    @property
    def family(self) -> str:
        if self.platform.startswith("win"):
            return "windows"
        return "macos" if self.platform == "darwin" else "linux"

    def local(self, path: str) -> Path:
        """A path as the host writes it, as a path we can open here."""
        if self.root is None:
            return Path(path)
        if self.family == "windows":
            pure = PureWindowsPath(path)
            return self.root.joinpath(pure.drive.upper(), *pure.parts[1:])
        return self.root.joinpath(*PurePosixPath(path).parts[1:])

    def home(self) -> Path:
        if self.is_live:
            return Path.home()
        name = "USERPROFILE" if self.family == "windows" else "HOME"
        return self.local(self.env.get(name, "C:\\Users\\Default" if name == "USERPROFILE" else "/root"))

    def windows_drives(self) -> list[Path]:
        if self.root is not None:
            return sorted(p for p in self.root.iterdir() if re.fullmatch(r"[A-Z]:", p.name))
        try:
            import ctypes

            mask = ctypes.windll.kernel32.GetLogicalDrives()  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            mask = 0
        return [Path(f"{letter}:\\") for i, letter in enumerate(string.ascii_uppercase) if mask >> i & 1]


@dataclass(frozen=True)
class DataDir:
    """One Claude Desktop data folder."""

    path: Path
    install_type: str
    label: str  # what a person calls it: "Windows Store (MSIX), relocated to D:"
    has_sessions: bool

    @property
    def sessions_path(self) -> Path:
        return self.path / SESSIONS_FOLDER


@dataclass(frozen=True)
class Discovery:
    found: list[DataDir]
    searched: list[str]  # every place we looked, for a "nothing found" message


def _base_folders(host: Host) -> dict[str, Path]:
    """The OS folders Claude's data hangs off: roaming and local AppData, or the
    folder Electron's ``userData`` lives in."""
    if host.is_live:
        import platformdirs

        if host.family == "windows":
            return {"roaming": Path(platformdirs.user_data_dir(appname=None, appauthor=False, roaming=True)),
                    "local": Path(platformdirs.user_data_dir(appname=None, appauthor=False, roaming=False))}
        if host.family == "macos":
            return {"userdata": Path(platformdirs.user_data_dir(appname=None, appauthor=False))}
        return {"userdata": Path(platformdirs.user_config_dir(appname=None, appauthor=False))}
    env = host.env
    if host.family == "windows":
        profile = env.get("USERPROFILE", "C:\\Users\\Default")
        return {"roaming": host.local(env.get("APPDATA", profile + "\\AppData\\Roaming")),
                "local": host.local(env.get("LOCALAPPDATA", profile + "\\AppData\\Local"))}
    if host.family == "macos":
        return {"userdata": host.home() / "Library" / "Application Support"}
    xdg = env.get("XDG_CONFIG_HOME")
    return {"userdata": host.local(xdg) if xdg else host.home() / ".config"}


def _candidates(host: Host) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """(folder, install type, label) for each place Claude's data may be, and
    the patterns searched."""
    bases = _base_folders(host)
    out: list[tuple[Path, str, str]] = []
    searched: list[str] = []
    if host.family == "windows":
        packages = bases["local"] / "Packages"
        searched.extend(str(packages / "Claude_*" / "LocalCache" / "Roaming" / n) for n in APP_FOLDERS)
        for package in _glob_dirs(packages, "Claude_*"):
            out.append((package / "LocalCache" / "Roaming", WINDOWS_MSIX, "Windows Store (MSIX)"))
        for drive in host.windows_drives():
            wp = drive / "WpSystem"
            searched.extend(str(wp / "<SID>" / "AppData" / "Local" / "Packages" / "Claude_*" / "LocalCache" / "Roaming"
                                / n) for n in APP_FOLDERS)
            for sid in _glob_dirs(wp, "*"):
                for package in _glob_dirs(sid / "AppData" / "Local" / "Packages", "Claude_*"):
                    letter = drive.name.rstrip("\\") or str(drive).rstrip("\\")
                    out.append((package / "LocalCache" / "Roaming", WINDOWS_MSIX_RELOCATED,
                                f"Windows Store (MSIX), relocated to {letter}"))
        legacy = _is_dir(bases["local"] / "AnthropicClaude")
        out.append((bases["roaming"], WINDOWS_APPDATA,
                    "Windows (classic installer)" if legacy else "Windows (%APPDATA%)"))
        searched.extend(str(bases["roaming"] / n) for n in APP_FOLDERS)
    else:
        kind, label = (MACOS, "macOS") if host.family == "macos" else (LINUX, "Linux")
        out.append((bases["userdata"], kind, label))
        searched.extend(str(bases["userdata"] / n) for n in APP_FOLDERS)
    # Each parent holds Claude, and Claude-3p in 3P/gateway mode.
    expanded = [(parent / name, kind, label if name == "Claude" else f"{label}, 3P gateway")
                for parent, kind, label in out for name in APP_FOLDERS]
    return [(p, k + ("-3p" if p.name == "Claude-3p" else ""), lbl) for p, k, lbl in expanded], searched


def _is_dir(path: Path) -> bool:
    """is_dir() that answers False instead of raising on a folder we may not
    enter (another user's WpSystem SID, a locked-down profile)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _glob_dirs(folder: Path, pattern: str) -> list[Path]:
    try:
        matches = list(folder.glob(pattern))
    except OSError:
        return []
    return sorted(p for p in matches if _is_dir(p))


def _identity(path: Path) -> str:
    try:
        return os.path.normcase(os.path.realpath(path))
    except OSError:
        return os.path.normcase(os.path.abspath(path))


def discover(host: Host | None = None) -> Discovery:
    """Every Claude Desktop data folder on ``host`` that exists.

    Folders that are one folder seen through a link or an MSIX reparse point
    are listed once, under the most specific install type.
    """
    host = host or Host.this_machine()
    candidates, searched = _candidates(host)
    seen: set[str] = set()
    found: list[DataDir] = []
    for path, kind, label in candidates:
        if not _is_dir(path):
            continue
        key = _identity(path)
        if key in seen:
            continue
        seen.add(key)
        found.append(DataDir(path, kind, label, _is_dir(path / SESSIONS_FOLDER)))
    return Discovery(found, searched)


def chosen(path: str | os.PathLike[str]) -> DataDir:
    """A folder the user named with ``--data-dir``.  Accept the sessions folder,
    or an account or org folder inside it, too: those are the folders people
    find, copy and paste the path of."""
    folder = Path(os.path.abspath(path))  # a run's manifest names files absolutely
    parts = folder.parts
    if SESSIONS_FOLDER in parts[1:]:
        last = len(parts) - 1 - parts[::-1].index(SESSIONS_FOLDER)
        folder = Path(*parts[:last])
    kind, label = guess_install_type(folder)
    if _is_file(folder / DEMO_MARKER):
        kind, label = DEMO, "demo data"
    return DataDir(folder, kind, label, _is_dir(folder / SESSIONS_FOLDER))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def guess_install_type(folder: Path) -> tuple[str, str]:
    """Name the install type of a folder from its path alone."""
    text = str(folder).replace("\\", "/").rstrip("/")
    suffix = "-3p" if text.rsplit("/", 1)[-1] == "Claude-3p" else ""
    relocated = re.search(r"(?i)(?:^|/)([A-Z]:)/WpSystem/.+/Packages/Claude_", text)
    if relocated:
        return WINDOWS_MSIX_RELOCATED + suffix, f"Windows Store (MSIX), relocated to {relocated.group(1).upper()}"
    if re.search(r"(?i)/Packages/Claude_[^/]*/LocalCache/Roaming/", text):
        return WINDOWS_MSIX + suffix, "Windows Store (MSIX)"
    if re.search(r"(?i)/AppData/Roaming/Claude", text):
        return WINDOWS_APPDATA + suffix, "Windows (%APPDATA%)"
    if "/Library/Application Support/" in text:
        return MACOS + suffix, "macOS"
    if "/.config/" in text:
        return LINUX + suffix, "Linux"
    return CUSTOM, "chosen folder"


def transcripts_dir(host: Host | None = None, data_dirs: Sequence[DataDir] = ()) -> Path:
    """Where the transcripts for ``data_dirs`` are.  A data folder that carries
    its own ``.claude/projects`` (the demo data, or a copy a user made for
    support) is read with those; otherwise ``~/.claude/projects``, or
    ``$CLAUDE_CONFIG_DIR/projects`` when the Claude Code CLI was pointed elsewhere."""
    for data_dir in data_dirs:
        own = data_dir.path / OWN_TRANSCRIPTS
        if _is_dir(own):
            return own
    host = host or Host.this_machine()
    configured = host.env.get("CLAUDE_CONFIG_DIR")
    if configured:
        return host.local(configured) / "projects"
    return host.home() / ".claude" / "projects"


def log_files(data_dir: DataDir, host: Host | None = None) -> list[Path]:
    """Where Claude Desktop's logs for ``data_dir`` may be, each folder's
    oldest first: ``main.old.log`` (electron-log's previous log), ``main1.log``
    (the rotated log cc#88418 counted with ``main.log``), ``main.log``, then
    ``ssh.log``, where SSH connection errors go (failures reference, class S).

    The log is beside the data (``<data>/logs``) on Linux and in a classic
    Windows install; on macOS it is in ``~/Library/Logs/Claude``; on MSIX the
    ``logs`` folder is excluded from virtualisation, so it is in the real
    ``%APPDATA%\\Claude\\logs`` rather than the package's copy (storage
    reference §1).  One Windows user's log was in ``%LOCALAPPDATA%\\Claude\\Logs``
    (cc#90638), which no rule above explains, so it is probed for every
    Windows data folder.  Every candidate is listed; the caller reads those
    that exist."""
    host = host or Host.this_machine()
    name = data_dir.path.name or "Claude"
    folders = [data_dir.path / "logs"]
    if host.family == "macos":
        folders.append(host.home() / "Library" / "Logs" / name)
    elif host.family == "windows" and data_dir.install_type.startswith("windows"):
        bases = _base_folders(host)
        if data_dir.install_type.startswith(WINDOWS_MSIX):
            folders.append(bases["roaming"] / name / "logs")
        folders.append(bases["local"] / name / "Logs")
    return [folder / log for folder in folders for log in ("main.old.log", "main1.log", "main.log", "ssh.log")]

"""What the executable would hold of PySide6 on another system, and how big.

Fetches that system's PySide6-Essentials and shiboken6 wheels (the versions
installed here; ``pip download --only-binary=:all: --platform ...
--python-version 3.11 --no-deps``, kept in ~/.cache/session-rescue/wheels),
then does what PyInstaller does with them, from the wheels' own files:

* the PySide6 modules the app imports (app/ read for ``PySide6.Qt...``), and
  shiboken6's;
* the Qt plugins and translations PyInstaller's Qt hooks collect for them
  (PyInstaller.utils.hooks.qt._modules_info), less the plugins whose Qt
  libraries are missing;
* every library those link to that is in the wheels (ELF, PE and Mach-O
  imports read here; run paths and @rpath followed; on Windows the DLL's own
  folder first, and the name spelled as its importer spells it), and on Linux
  and macOS the link PyInstaller leaves at the top for each;
* on macOS the arm64 (or x86_64) slice of each universal binary, and each
  framework's Info.plist;

applies build_exe_drop.py's filter to the paths they would have in the
executable, and prints what is kept, each file's size and its size compressed
as PyInstaller compresses it (zlib, PyInstaller's CArchive level), and the
totals last.  Libraries from the system (not in the wheels: on Linux X11,
glib, fontconfig; on Windows the C runtime Python brings, on macOS none) are
named but not counted, nor are Python, the app's own code and psutil.

    python benchmarks/exe_contents.py --platform win_amd64
    python benchmarks/exe_contents.py --platform macosx_11_0_arm64
    python benchmarks/exe_contents.py --platform manylinux_x86_64
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import runpy
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

from PyInstaller.archive.writers import CArchiveWriter
from PyInstaller.utils.hooks.qt import _modules_info

ROOT = Path(__file__).resolve().parents[1]
DROP = runpy.run_path(str(ROOT / "build_exe_drop.py"))
CACHE = Path.home() / ".cache" / "session-rescue" / "wheels"
LEVEL = CArchiveWriter._COMPRESSION_LEVEL  # what PyInstaller compresses the executable's files with
PACKAGES = ("PySide6-Essentials", "shiboken6")


# ------------------------------------------------------------ the wheels

def platform_tags(platform: str) -> list[str]:
    """The tags pip is asked for: the one given, and the newer system
    versions a wheel may need (PySide6 6.11 wants macOS 13 and glibc 2.34)."""
    if mac := re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", platform):
        return [platform, *(f"macosx_{major}_0_{mac.group(3)}" for major in range(int(mac.group(1)) + 1, 27))]
    if linux := re.fullmatch(r"manylinux(?:_\d+_\d+)?_(\w+)", platform):
        return [platform, *(f"manylinux_2_{minor}_{linux.group(1)}" for minor in range(17, 40))]
    return [platform]


def fetch(platform: str) -> list[Path]:
    """The platform's wheels, of the versions installed here: from the cache,
    or downloaded into it."""
    folder = CACHE / platform
    wanted = {f"{name.lower().replace('-', '_')}-{metadata.version(name)}-": name for name in PACKAGES}
    wheels = sorted(w for w in folder.glob("*.whl") if w.name.lower().startswith(tuple(wanted)))
    if len(wheels) != len(PACKAGES):
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--python-version",
                   "3.11", "--no-deps", "--dest", str(folder)]
        for tag in platform_tags(platform):
            command += ["--platform", tag]
        done = subprocess.run([*command, *(f"{name}=={metadata.version(name)}" for name in PACKAGES)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"pip download failed:\n{done.stdout}{done.stderr}")
        wheels = sorted(w for w in folder.glob("*.whl") if w.name.lower().startswith(tuple(wanted)))
    return wheels


# ------------------------------------------------- binaries and their imports

@dataclass
class Binary:
    needed: list[str] = field(default_factory=list)  # the libraries it imports, as it names them
    run_paths: list[str] = field(default_factory=list)  # ELF RUNPATH/RPATH, Mach-O LC_RPATH


def read_elf(data: bytes) -> Binary:
    """DT_NEEDED and the run paths of a 64-bit little-endian ELF file."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads, dynamic = [], None
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == 2:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return Binary()
    entries = [struct.unpack_from("<qQ", data, dynamic[0] + i) for i in range(0, dynamic[1], 16)]
    strtab = next(value for tag, value in entries if tag == 5)
    base = next(offset + strtab - vaddr for vaddr, offset, size in loads if vaddr <= strtab < vaddr + size)

    def string(at: int) -> str:
        return data[base + at:data.index(b"\0", base + at)].decode()

    found = Binary([string(v) for tag, v in entries if tag == 1])
    found.run_paths = [path for tag, v in entries if tag in (15, 29) for path in string(v).split(":")]
    return found


def read_pe(data: bytes) -> Binary:
    """The DLLs a PE file imports (its import directory, as PyInstaller reads it)."""
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    sections, optional_size = struct.unpack_from("<H12xH", data, pe + 6)
    optional = pe + 24
    directories = optional + (112 if struct.unpack_from("<H", data, optional)[0] == 0x20B else 96)
    import_rva, _ = struct.unpack_from("<II", data, directories + 8)
    table = [struct.unpack_from("<8xIIII", data, optional + optional_size + i * 40) for i in range(sections)]

    def offset(rva: int) -> int:
        return next(raw + rva - va for size, va, raw_size, raw in table if va <= rva < va + max(size, raw_size))

    found, at = Binary(), offset(import_rva) if import_rva else None
    while at is not None:
        name_rva = struct.unpack_from("<12xI", data, at)[0]
        if not name_rva:
            break
        start = offset(name_rva)
        found.needed.append(data[start:data.index(b"\0", start)].decode())
        at += 20
    return found


_CPU = {"arm64": 0x0100000C, "x86_64": 0x01000007}
_LOAD_DYLIB = {0xC, 0x80000018, 0x8000001F, 0x20, 0x80000023}  # LOAD, WEAK, REEXPORT, LAZY, UPWARD
_RPATH = 0x8000001C


def thin(data: bytes, arch: str) -> bytes:
    """One architecture's slice of a universal (fat) Mach-O file, as
    PyInstaller keeps it; a thin file as it is."""
    magic = struct.unpack_from(">I", data)[0]
    if magic not in (0xCAFEBABE, 0xCAFEBABF):
        return data
    wide = magic == 0xCAFEBABF
    for i in range(struct.unpack_from(">I", data, 4)[0]):
        if wide:
            cpu, _, start, size = struct.unpack_from(">iiQQ", data, 8 + i * 32)
        else:
            cpu, _, start, size = struct.unpack_from(">iiII", data, 8 + i * 20)
        if cpu == _CPU[arch]:
            return data[start:start + size]
    raise ValueError(f"no {arch} slice")


def read_macho(data: bytes) -> Binary:
    ncmds = struct.unpack_from("<I", data, 16)[0]
    found, at = Binary(), 32
    for _ in range(ncmds):
        cmd, size, name = struct.unpack_from("<III", data, at)
        if cmd in _LOAD_DYLIB or cmd == _RPATH:
            text = data[at + name:at + size].split(b"\0")[0].decode()
            (found.run_paths if cmd == _RPATH else found.needed).append(text)
        at += size
    return found


def is_binary(data: bytes) -> bool:
    return data[:4] in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe") or data[:2] == b"MZ"


# ------------------------------------------------------------ the collection

class Wheels:
    """The wheels' files by path (PySide6/..., shiboken6/...), as they would
    sit in site-packages, and PyInstaller's collection from them."""

    def __init__(self, wheels: list[Path], platform: str):
        self.system = "win" if platform.startswith("win") else "mac" if platform.startswith("macosx") else "linux"
        self.arch = platform.rsplit("_", 1)[-1] if self.system == "mac" else None
        self.files: dict[str, tuple[zipfile.ZipFile, str]] = {}
        for wheel in wheels:
            archive = zipfile.ZipFile(wheel)
            for name in archive.namelist():
                if not name.endswith("/"):
                    self.files[name] = (archive, name)
        self.folded = {name.lower(): name for name in self.files}  # Windows finds files whatever their case
        self.qt_lib = {"win": "PySide6", "mac": "PySide6/Qt/lib", "linux": "PySide6/Qt/lib"}[self.system]
        self.plugins = {"win": "PySide6/plugins", "mac": "PySide6/Qt/plugins", "linux": "PySide6/Qt/plugins"}[
            self.system]
        self.translations = "PySide6/translations" if self.system == "win" else "PySide6/Qt/translations"
        self._imports: dict[str, list[tuple[str, str | None]]] = {}
        self.collected: dict[str, str] = {}  # path in the executable -> the wheel's file ("" for a link)
        self.from_system: dict[str, set[str]] = {}  # importer -> the system libraries it needs

    def data(self, path: str) -> bytes:
        archive, name = self.files[path]
        content = archive.read(name)
        return thin(content, self.arch) if self.system == "mac" and self.arch and is_binary(content) else content

    def packed(self, path: str) -> tuple[int, int]:
        """The file's size as the executable holds it, and compressed.  On
        Linux stripped first, as build_exe.spec has PyInstaller do (GNU
        strip; macOS's strip -S is not at hand here)."""
        data = self.data(path)
        if self.system == "linux" and is_binary(data) and shutil.which("strip"):
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / "binary"
                copy.write_bytes(data)
                subprocess.run(["strip", str(copy)], check=True, capture_output=True)
                data = copy.read_bytes()
        return len(data), len(zlib.compress(data, LEVEL))

    def find(self, path: str) -> str | None:
        path = _normalise(path)
        if self.system == "win":
            return self.folded.get(path.lower())
        return path if path in self.files else None

    def imports(self, path: str) -> list[tuple[str, str | None]]:
        """What the binary at ``path`` imports: (the name it uses, the wheel
        file it resolves to, or None: a system library)."""
        if path not in self._imports:
            data = self.data(path)
            here = str(PurePosixPath(path).parent)
            reader = {"win": read_pe, "mac": read_macho, "linux": read_elf}[self.system]
            found = reader(data)
            resolved = []
            for name in found.needed:
                resolved.append((name, self._resolve(name, here, found.run_paths)))
            self._imports[path] = resolved
        return self._imports[path]

    def _resolve(self, name: str, here: str, run_paths: list[str]) -> str | None:
        if self.system == "win":  # the DLL's own folder, then Qt's and shiboken's (os.add_dll_directory)
            return next((hit for folder in (here, self.qt_lib, "shiboken6")
                         if (hit := self.find(f"{folder}/{name}"))), None)
        if self.system == "linux":
            folders = [path.replace("$ORIGIN", here).replace("${ORIGIN}", here) for path in run_paths]
            return next((hit for folder in folders if (hit := self.find(f"{folder}/{name}"))), None)
        if name.startswith("@rpath/"):
            folders = [path.replace("@loader_path", here) for path in run_paths]
            return next((hit for folder in folders if (hit := self.find(f"{folder}/{name[7:]}"))), None)
        if name.startswith("@loader_path/"):
            return self.find(f"{here}/{name[13:]}")
        return None  # /usr/lib, /System/Library: the system's own

    def dest(self, path: str, spelled: str | None = None) -> str:
        """The file's path in the executable: where it sits in site-packages;
        on Windows with the name spelled as its importer spells it."""
        if self.system == "win" and spelled:
            return f"{PurePosixPath(path).parent}/{spelled}"
        return path

    # -- what PyInstaller's Qt hooks and its dependency analysis collect

    def qt_name(self, path: str) -> str:
        """PyInstaller's normalised Qt library name (qt6core) of a file."""
        name = PurePosixPath(path).name.lower()
        name = name.split(".")[0] if self.system != "win" else name.rsplit(".", 1)[0]
        name = name.removeprefix("lib")
        if self.system == "mac" and name.startswith("qt") and not name.startswith("qt6"):
            name = "qt6" + name[2:]
        return name

    def module_file(self, module: str) -> str:
        package, _, name = module.partition(".")
        suffixes = (".pyd",) if self.system == "win" else (".abi3.so",)
        return next(f"{package}/{name}{suffix}" for suffix in suffixes if f"{package}/{name}{suffix}" in self.files)

    def collect(self, modules: list[str], excludes: list[str]) -> None:
        info = [entry for entry in _modules_info.QT_MODULES_INFO
                if not entry.bindings or "PySide6" in _modules_info.process_namespace_strings(entry.bindings)]
        by_module = {entry.module: entry for entry in info if entry.module}
        by_lib = {f"qt6{entry.shared_lib}".lower(): entry for entry in info if entry.shared_lib}
        binaries: list[tuple[str, str | None]] = [(self.module_file("shiboken6.Shiboken"), None)]
        plugin_types, translations, done = set(), set(), set()
        todo = list(modules)
        while todo:  # PyInstaller's QtLibraryInfo.collect_module, for each module and the ones it brings in
            module = todo.pop()
            if module in done or any(module == e or module.startswith(e + ".") for e in excludes):
                continue
            done.add(module)
            short = module.split(".", 1)[1]
            if short in by_module:
                plugin_types.update(by_module[short].plugins)
                translations.update(by_module[short].translations)
            binaries.append((self.module_file(module), None))
            seen, pending = set(), [lib for _, lib in self.imports(self.module_file(module)) if lib]
            while pending:
                lib = pending.pop()
                name = self.qt_name(lib)
                if lib in seen or name == "qt6qml":
                    continue
                seen.add(lib)
                entry = by_lib.get(name)
                if entry is None:
                    continue
                if entry.module and entry.module != short:
                    todo.append(f"PySide6.{entry.module}")
                    continue
                if entry.module != short:
                    plugin_types.update(entry.plugins)
                    translations.update(entry.translations)
                pending += [dep for _, dep in self.imports(lib) if dep]
        for kind in sorted(plugin_types):
            folder = f"{self.plugins}/{kind}/"
            for path in sorted(p for p in self.files if p.startswith(folder) and "/" not in p[len(folder):]):
                if is_binary(self.data(path)) and self._plugin_valid(path):
                    binaries.append((path, None))
        for base in sorted(translations):
            for path in sorted(p for p in self.files if fnmatch.fnmatch(p, f"{self.translations}/{base}_*.qm")):
                self.collected[path] = path
        if self.system == "win" and "PySide6/opengl32sw.dll" in self.files:  # QtLibraryInfo.collect_extra_binaries
            binaries.append(("PySide6/opengl32sw.dll", None))
        self._dependencies(binaries)

    def _plugin_valid(self, path: str) -> bool:
        """PyInstaller leaves out a plugin whose Qt libraries are not there."""
        return all(found for name, found in self.imports(path) if self.qt_name(name).startswith("qt6"))

    def _dependencies(self, binaries: list[tuple[str, str | None]]) -> None:
        """PyInstaller's binary_dependency_analysis, on the wheels' files."""
        queue, analysed, seen_deps = list(binaries), set(), set()
        for path, _ in binaries:
            self.collected[self.dest(path)] = path
        while queue:
            path, _ = queue.pop(0)
            if path in analysed:
                continue
            analysed.add(path)
            for name, dep in self.imports(path):
                if dep is None:
                    self.from_system.setdefault(path, set()).add(PurePosixPath(name).name)
                    continue
                key = dep.lower() if self.system == "win" else dep
                if key in seen_deps:
                    continue
                seen_deps.add(key)
                dest = self.dest(dep, PurePosixPath(name).name)
                self.collected.setdefault(dest, dep)
                queue.append((dep, None))
                if self.system != "win":  # the link at the top (bindepend)
                    self.collected.setdefault(PurePosixPath(dest).name, "")
        if self.system == "mac":  # osxutils.collect_files_from_framework_bundles
            for dest in [d for d in self.collected if ".framework/Versions/" in d]:
                top = dest.split(".framework/")[0] + ".framework"
                plist = self.find(f"{PurePosixPath(dest).parent}/Resources/Info.plist") or self.find(
                    f"{top}/Resources/Info.plist")
                if plist:
                    self.collected[f"{PurePosixPath(dest).parent}/Resources/Info.plist"] = plist
                    self.collected[f"{top}/{PurePosixPath(dest).name}"] = ""
                    self.collected[f"{top}/Resources"] = ""


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def app_modules() -> list[str]:
    """The PySide6 modules the app imports."""
    found = set()
    for source in (ROOT / "app").rglob("*.py"):
        found.update(re.findall(r"\bPySide6\.(Qt\w+)", source.read_text(encoding="utf-8")))
    return sorted(f"PySide6.{name}" for name in found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", required=True,
                        help="a wheel platform tag: win_amd64, macosx_11_0_arm64, manylinux_x86_64 ...")
    parser.add_argument("--dropped", action="store_true", help="also list what the drop filter leaves out")
    args = parser.parse_args()
    wheels = fetch(args.platform)
    found = Wheels(wheels, args.platform)
    modules = app_modules()
    found.collect(modules, DROP["EXCLUDES"])
    print(f"{args.platform}: {', '.join(w.name for w in wheels)}")
    print(f"PySide6 modules the app imports: {', '.join(m.split('.')[1] for m in modules)}")
    kept, dropped = [], []
    for dest, source in sorted(found.collected.items()):
        (kept if DROP["wanted"](dest) else dropped).append((dest, source))
    rows = []
    for dest, source in kept:
        size, packed = found.packed(source) if source else (0, 0)
        rows.append((packed, size, dest))
    print(f"\nkept ({'zlib bytes':>10}, bytes, path in the executable; links have no bytes):")
    for packed, size, dest in sorted(rows, reverse=True):
        print(f"  {packed:>12,} {size:>12,}  {dest}")
    if args.dropped:
        print("\nleft out by build_exe_drop.py:")
        for dest, _ in dropped:
            print(f"  {dest}")
    dropped_bytes = sum(len(found.data(source)) for _, source in dropped if source)
    # A kept binary that needs a file the filter leaves out would not load.
    left_out = {source for _, source in dropped if source}
    broken = sorted(f"{dest} needs {dep}" for dest, source in kept if source and is_binary(found.data(source))
                    for _, dep in found.imports(source) if dep in left_out)
    system = {name for _, source in kept for name in found.from_system.get(source, ())}
    print(f"\nfrom the system, not counted: {', '.join(sorted(system, key=str.lower)) or 'none'}")
    print(f"left out by build_exe_drop.py: {len(dropped)} files and links, {dropped_bytes:,} bytes")
    print(f"kept files that need a file left out: {'; '.join(broken) or 'none'}")
    packed, size = sum(r[0] for r in rows), sum(r[1] for r in rows)
    print(f"kept: {len(rows)} files and links, {size:,} bytes; compressed (zlib level {LEVEL}): "
          f"{packed:,} bytes ({packed / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

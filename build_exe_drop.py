"""What the one-file executable leaves out: Python modules, the parts of Qt
the app never loads, and docstrings and asserts (OPTIMIZE).  One list, read
by three:

* build_exe.spec runs this file (runpy; a spec runs in PyInstaller's own
  namespace, not as a module) for EXCLUDES and wanted();
* tests/test_exe.py lists what a built executable holds, and fails on anything
  wanted() refuses;
* benchmarks/exe_contents.py applies wanted() to the PySide6 wheels of Windows,
  macOS and Linux, and benchmarks/bench_exe.py builds its bare baseline with it.

Paths are the executable's own (PySide6/Qt/lib/libQt6Gui.so.6 on Linux,
PySide6/Qt6Gui.dll on Windows, PySide6/Qt/lib/QtGui.framework/... on macOS),
compared lower-cased: PyInstaller spells a DLL the way the binary that
imports it does (MSVCP140.dll, msvcp140.dll).
"""

from __future__ import annotations

import sys

# Python modules never imported: the test and build tools, TLS (hashlib uses
# its own SHA-256: build_exe.spec's hidden imports), the internet clients that
# only functions the app never calls import (logging.handlers' HTTPHandler
# and SMTPHandler; xml.sax, which plistlib does not need, pulls in
# urllib.request, and with it ftplib, mimetypes, getpass, netrc: 0.23 MB),
# and the Qt modules the app does not use.
EXCLUDES = ["tkinter", "unittest", "pydoc", "doctest", "pdb", "pytest", "PyInstaller", "ssl", "_ssl", "_hashlib",
            "http", "urllib.request", "smtplib", "ftplib", "xml.sax",
            "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtOpenGL", "PySide6.QtDBus",
            "PySide6.QtSql", "PySide6.QtPrintSupport", "PySide6.QtXml", "PySide6.QtConcurrent",
            "PySide6.QtTest", "PySide6.QtUiTools", "PySide6.QtDesigner", "PySide6.QtHelp",
            "PySide6.QtOpenGLWidgets", "PySide6.QtSvgWidgets"]
# plistlib (and the XML parser it brings, pyexpat) writes the macOS login
# item only (app/core/autostart.py imports it there, when it is used).
if sys.platform != "darwin":
    EXCLUDES += ["plistlib", "pyexpat", "xml.parsers.expat"]
# Each other system's half of a module kept: platformdirs picks its module by
# sys.platform (its Android one stays: an environment can make Linux look like
# Android to it), and ctypes.util its way to find a library (fsops asks it for
# libc); nothing else imports these.  No build is made for iOS or AIX.
EXCLUDES += ["platformdirs.ios", "ctypes._aix"]
# Two C halves of modules that have a Python one: uuid's (for uuid1, which the
# app never calls: it makes uuid4 and uuid5) and queue's (the log file's
# module imports queue; the app queues nothing).  A one-file executable
# writes each of its files to disk at every start: some half a millisecond
# each on this project's machine, for code the app would not run.
EXCLUDES += ["_uuid", "_queue"]
if sys.platform != "win32":
    EXCLUDES += ["platformdirs.windows", "ctypes.wintypes"]
if sys.platform != "darwin":
    EXCLUDES += ["platformdirs.macos", "ctypes.macholib"]

# The bytecode of every Python module kept, as ``python -OO`` makes it: without
# docstrings (an eighth of the app's own code, compressed) and asserts.  Nothing
# reads a docstring at run time, and the app's asserts only restate what the
# code before them made sure of, for mypy (tests/test_exe.py holds them to
# that).  The interpreter itself runs as usual.
OPTIMIZE = 2

# Qt libraries that nothing kept loads (platform-setup.md §5): network and TLS,
# QML and Quick, OpenGL (widgets paint with the raster engine), PDF, the
# virtual keyboard, and the Wayland and EGL platforms' own libraries.
_QT_LIBRARIES = ("Network", "Qml", "Quick", "OpenGL", "Pdf", "VirtualKeyboard", "Wayland", "WlShell", "EglFS")
# Qt plugin folders the app never loads: platform themes (GTK, portals),
# network and TLS plugins, input devices and methods (evdev, IBus, virtual
# keyboard), EGL devices, Wayland, and the styles (the app always uses Fusion,
# which is built in: app/gui/theme.py).
_PLUGIN_FOLDERS = ("platformthemes/", "tls/", "networkinformation/", "networkaccess/", "generic/",
                   "platforminputcontexts/", "egldeviceintegrations/", "wayland", "styles/")
# Platforms: X (xcb), offscreen (screenshots, tests) and minimal stay, and on
# Windows and macOS their own (qwindows, cocoa); these go.
_PLATFORMS = ("wayland", "eglfs", "vnc", "linuxfb", "minimalegl", "vkkhrdisplay", "direct2d")
# Images: the app draws SVG icons (and PNG, built into Qt); no other format
# (macheif and macjp2 are macOS's HEIF and JPEG 2000).
_IMAGE_FORMATS = ("gif", "icns", "ico", "jpeg", "pdf", "tga", "tiff", "wbmp", "webp", "macheif", "macjp2")

# Where each system keeps them: Linux and macOS wheels under PySide6/Qt/,
# Windows wheels directly under PySide6/.
_PLUGINS = ("PySide6/Qt/plugins/", "PySide6/plugins/")
DROP = tuple(name.lower() for name in (
    "PySide6/Qt/translations/", "PySide6/translations/", "PySide6/opengl32sw.dll",
    *(f"{base}{folder}" for base in _PLUGINS for folder in _PLUGIN_FOLDERS),
    *(f"{base}platforms/{prefix}q{name}" for base in _PLUGINS for prefix in ("lib", "") for name in _PLATFORMS),
    *(f"{base}imageformats/{prefix}q{fmt}" for base in _PLUGINS for prefix in ("lib", "") for fmt in _IMAGE_FORMATS),
    *(path for lib in _QT_LIBRARIES for path in (
        f"PySide6/Qt/lib/libQt6{lib}",  # Linux
        f"libQt6{lib}",  # Linux: the link PyInstaller leaves at the top for each
        f"PySide6/Qt6{lib}",  # Windows
        f"PySide6/Qt/lib/Qt{lib}.framework/",  # macOS
        f"Qt{lib}.framework/", f"Qt{lib}")),  # macOS: the links at the top
    # Their Python modules, should anything still bring one in.
    *(f"PySide6/Qt{lib}." for lib in _QT_LIBRARIES),
))
# System libraries that only the dropped Qt plugins use (found with ldd; Linux).
ORPHANS = tuple(name.lower() for name in (
    "libgtk-3", "libgdk-3", "libgdk_pixbuf", "libcairo", "libpango", "libatk", "libatspi", "libepoxy",
    "libharfbuzz", "libpixman", "libthai", "libdatrie", "libfribidi", "libgraphite2", "libjpeg",
    "libtiff", "libwebp", "libjbig", "libLerc", "libdeflate", "libgio-2", "libgmodule-2",
    "libgssapi_krb5", "libkrb5", "libk5crypto", "libkrb5support", "libkeyutils", "libcom_err",
    "libmount", "libblkid", "libselinux", "libpcre2-8", "libwayland", "libXcomposite", "libXdamage",
    "libXfixes", "libXi.", "libXinerama", "libXrandr", "libXcursor", "libXext", "libXrender"))


def wanted(name: str) -> bool:
    """Whether the file the executable would hold at ``name`` (its path inside
    the executable) is kept."""
    name = name.replace("\\", "/").lower()
    return not name.startswith(DROP) and not name.rsplit("/", 1)[-1].startswith(ORPHANS)

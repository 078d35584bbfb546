"""Render the app icon (icons/session-rescue.svg) into the files the executable
needs: a multi-size .ico for Windows, an .icns for macOS and a 256 px .png.

    python resources/make_icons.py

Run it after changing the SVG, and commit what it writes.  Qt draws the SVG;
the .ico and .icns containers hold PNG images (Windows Vista and later and
macOS 10.7 and later read those), so no other library is needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize  # noqa: E402
from PySide6.QtGui import QGuiApplication, QIcon  # noqa: E402

HERE = Path(__file__).resolve().parent / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = ((b"ic07", 128), (b"ic08", 256), (b"ic09", 512), (b"ic10", 1024))


def png(icon: QIcon, size: int) -> bytes:
    image = icon.pixmap(QSize(size, size)).toImage()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def ico(images: list[tuple[int, bytes]]) -> bytes:
    """ICONDIR, one ICONDIRENTRY per image, then the PNGs."""
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, data in images:
        side = 0 if size >= 256 else size  # 0 means 256
        out += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(data for _, data in images)


def icns(images: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in images)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt draws only with an application
    icon = QIcon(str(HERE / "session-rescue.svg"))
    (HERE / "session-rescue.ico").write_bytes(ico([(s, png(icon, s)) for s in ICO_SIZES]))
    (HERE / "session-rescue.icns").write_bytes(icns([(kind, png(icon, s)) for kind, s in ICNS_TYPES]))
    (HERE / "session-rescue.png").write_bytes(png(icon, 256))
    for name in ("session-rescue.ico", "session-rescue.icns", "session-rescue.png"):
        print(f"wrote {HERE / name} ({(HERE / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

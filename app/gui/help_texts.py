"""What the Help menu says: how Session Rescue works, and what it is."""

from __future__ import annotations

import html
from pathlib import Path

from app import __version__

HOW_IT_WORKS = """<h3>How Session Rescue works</h3>
<p>Claude Desktop lists a Code session only while its record,
<code>local_&lt;id&gt;.json</code>, loads. On Windows Store installs each save writes
<code>local_&lt;id&gt;.json.tmp</code> and then renames it; that rename often fails
(<i>EXDEV: cross-device link not permitted</i>), and the session disappears after a restart.</p>
<p><b>Healthy</b> sessions are listed by Claude Desktop <i>and</i> open. <b>Orphaned</b> ones are
lost, but can be brought back: a good copy the app does not read (the <code>.tmp</code>), a
record it rejects for a small reason, or a conversation that is on your computer but not where
the app looks for it ("Session not found on disk", "No messages yet"). <b>Corrupt</b> ones have
nothing left that could bring them back; they are left exactly as they are. <b>Deleted</b> ones
you deleted in Claude Desktop: they are hidden unless you ask, and never brought back. Select a
session to see, step by step, why it does or does not open.</p>
<p><b>Transcript only</b> rows are conversations in <code>~/.claude/projects</code> that no
record points to (records wiped by a reinstall, or sessions started in the terminal).
<b>Rebuild</b> makes a new record for each; a record that lost its link to a transcript gets
the link back instead, with the evidence shown first. <b>Move to active account</b> copies
sessions left under another account into the one Claude Desktop is signed in to.</p>
<p>Every change shows its plan first. Each file it changes or removes is copied to the backup
folder before anything happens, and <i>Tools → Undo last change</i> puts every byte back.
Quit Claude Desktop fully first, including its tray icon: it keeps sessions in memory and
would overwrite a repair.</p>"""


def about(backup_root: Path) -> str:
    return (f"<h3>Session Rescue {__version__}</h3><p>Brings back Claude Desktop's lost Code sessions, without "
            f"ever losing a byte.</p><p>Backups: <code>{html.escape(str(backup_root))}</code></p>")

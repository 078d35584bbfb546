"""Which Claude Code transcripts exist under ``~/.claude/projects``.

A record's ``cliSessionId`` is the only link to its conversation, stored as
``projects/<slug>/<cliSessionId>.jsonl``.  The slug is derived from the cwd
and cannot be trusted (a moved or renamed folder changes it), so we list every
project folder once and look the id up, instead of guessing the slug.
"""

from __future__ import annotations

import os
from pathlib import Path


class TranscriptIndex:
    """A lazily built map from transcript id to its ``.jsonl`` path."""

    def __init__(self, projects_dir: Path | None):
        self.projects_dir = projects_dir
        self._paths: dict[str, str] | None = None

    def _build(self) -> dict[str, str]:
        paths: dict[str, str] = {}
        if self.projects_dir is None:
            return paths
        try:
            projects = list(os.scandir(self.projects_dir))
        except OSError:
            return paths
        for project in projects:
            try:
                if not project.is_dir():
                    continue
                entries = list(os.scandir(project.path))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                # agent-*.jsonl are subagent transcripts, never sessions of their own.
                if name.endswith(".jsonl") and not name.startswith("agent-"):
                    paths.setdefault(name[:-6], entry.path)
        return paths

    def find(self, transcript_id: str | None) -> str | None:
        if not transcript_id:
            return None
        if self._paths is None:
            self._paths = self._build()
        return self._paths.get(transcript_id)

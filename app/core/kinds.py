"""The kinds of change a plan makes, each also the name its backup run carries.

A ``StrEnum``: each member is the plain word (``"repair"``) wherever it is
written or compared, in a manifest, ``--json`` or a log line.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    REPAIR = "repair"  # bring back sessions whose good copy Claude does not read
    ADOPT = "adopt"  # copy sessions of another account into the active one
    REBUILD = "rebuild"  # make records for transcripts, relink records


KINDS = frozenset(k.value for k in Kind)

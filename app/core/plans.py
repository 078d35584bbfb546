"""Every kind of plan, by the name its backup run carries.

Both front ends look the planner up here: the CLI by its command, the window
by the button pressed, and again by ``Plan.kind`` when it must plan anew (an
interrupted run was undone first).  Each takes a scan and the ids a user
named (None: all it applies to) and returns a :class:`repair.Plan`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.core import adopt, rebuild, repair
from app.core.records import ScanResult

Planner = Callable[[ScanResult, Iterable[str] | None], repair.Plan]

PLANNERS: dict[str, Planner] = {"repair": repair.plan, adopt.ADOPT: adopt.plan, rebuild.REBUILD: rebuild.plan}

"""Step kinds from an agent action's text (search/read/edit/test/verify/plan) and a sticky per-step policy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Checked in this order: the first kind whose pattern matches the action wins; no match means "plan".
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("verify", re.compile(r"\bsubmit\b|COMPLETE_TASK|\bgit\s+(diff|status)\b", re.I)),
    ("edit", re.compile(
        r"str_replace_editor\s+(create|str_replace|insert|undo_edit)|\bsed\s+-i|\bpatch\b|\bapply_patch\b"
        r"|cat\s*<<-?\s*['\"]?\w+['\"]?\s*>|(?<![<>2&])>{1,2}\s*[\w./-]+\.\w+|\bedit\s+\d+|\bcreate\s+\S+|\btee\b")),
    ("test", re.compile(r"\bpytest\b|\btox\b|runtests|manage\.py\s+test|\bunittest\b|\bpython3?\s+(-m\s+)?\S+")),
    ("search", re.compile(r"\b(grep|rg|ag|find|ls|tree|locate|search_dir|search_file|find_file)\b")),
    ("read", re.compile(r"\b(cat|head|tail|nl|less|more|open|goto|scroll_up|scroll_down)\b|sed\s+-n"
                        r"|str_replace_editor\s+view")),
)
STEP_KINDS = ("search", "read", "edit", "test", "verify", "plan")
_PATH = re.compile(r"(?:/?[\w.-]+/)+[\w.-]+\.\w+|\b[\w-]+\.py\b")


def classify_step(action: str) -> str:
    """The kind of one agent action: search, read, edit, test, verify or plan (thinking, no tool call)."""
    text = action.strip()
    if not text:
        return "plan"
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return "plan"


def action_paths(action: str) -> list[str]:
    """File paths an action names (for files opened/edited and protected-area checks)."""
    return _PATH.findall(action)


@dataclass(frozen=True)
class StepPolicy:
    """Per-step routing: cheap for search/read/plan/test/verify, strong for edits (or only protected edits).

    `protected` are substrings of paths whose edits must go strong; with `strong_for_all_edits` every edit
    goes strong. `sticky_turns` keeps the strong model for that many turns after it was chosen, so the agent
    does not bounce between models inside one tool loop.
    """

    protected: tuple[str, ...] = ("setup.py", "__init__.py", "/core/", "settings", "migrations", "security",
                                  "auth")
    strong_for_all_edits: bool = True
    sticky_turns: int = 2

    def wants_strong(self, kind: str, action: str) -> bool:
        """Whether this single step, seen alone, should go to the strong model."""
        if kind != "edit":
            return False
        if self.strong_for_all_edits:
            return True
        return any(p in path for path in action_paths(action) for p in self.protected)

    def step(self, kind: str, action: str, hold: int) -> tuple[bool, int]:
        """One step given the turns `hold` the strong model is still held: (goes strong, turns held after it).

        The one rule behind `route` (replay) and the SDK / proxy (live)."""
        if self.wants_strong(kind, action):
            return True, self.sticky_turns
        if hold > 0:
            return True, hold - 1
        return False, 0

    def route(self, kinds: Sequence[str], actions: Sequence[str]) -> np.ndarray:
        """(n_steps,) bool: True where the step goes to the strong model, with stickiness applied."""
        strong = np.zeros(len(kinds), dtype=bool)
        hold = 0
        for i, (kind, action) in enumerate(zip(kinds, actions, strict=True)):
            strong[i], hold = self.step(kind, action, hold)
        return strong


def switches(strong: np.ndarray) -> int:
    """How many times the model changes between consecutive steps."""
    flags = np.asarray(strong, dtype=int)
    return int(np.abs(np.diff(flags)).sum()) if len(flags) > 1 else 0

"""Features of the first K turns of a trajectory, plus the task text.

`turn_features` only ever reads `trajectory.turns[:k]`: turns after K and whole-run fields (which live in
`RunOutcome`, never passed here) cannot influence the features. K = 0 gives description-only features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from aco.trajectories.grounding import grounding_features, turn_texts
from aco.trajectories.loader import Trajectory, Turn
from aco.trajectories.steps import STEP_KINDS, action_paths, classify_step

_FAIL = re.compile(r"\bFAILED\b|\bfailed\b|\bERROR\b|AssertionError|\d+ failed")
_ERROR = re.compile(r"Error\b|error:|Exception\b")
_NOT_FOUND = re.compile(r"No such file|command not found|not found|does not exist", re.I)
_REPRO = re.compile(r"reproduc|repro_|test_\w*\.py|debug", re.I)
_RUN_SCRIPT = re.compile(r"\bpython3?\s+(?!-m\b)\S+\.py\b")

TRAJECTORY_FEATURES = (
    "turns_seen", "ended_before_k", *(f"n_{kind}" for kind in STEP_KINDS), "n_files_read", "n_files_edited",
    "n_test_runs", "n_test_failures", "n_tracebacks", "n_errors", "n_not_found", "n_repeated", "obs_chars_total",
    "obs_chars_max", "n_empty_obs", "action_chars_total", "thought_chars_total", "prompt_tokens_last",
    "completion_tokens_total", "cost_usd_so_far", "created_repro", "first_edit_turn", "ran_script",
    "ran_script_saw_error", "edited_source",
)
TASK_FEATURES = ("text_chars", "text_lines", "text_code_blocks", "text_has_traceback", "text_n_paths")


def _nan0(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _turn_counts(visible: Sequence[Turn], k: int) -> dict[str, float]:
    kinds = [classify_step(t.action) for t in visible]
    out: dict[str, float] = {f"n_{kind}": float(kinds.count(kind)) for kind in STEP_KINDS}
    read_paths = {p for t, kd in zip(visible, kinds, strict=True) if kd in ("read", "search")
                  for p in action_paths(t.action)}
    edit_paths = {p for t, kd in zip(visible, kinds, strict=True) if kd == "edit" for p in action_paths(t.action)}
    tests = [t for t, kd in zip(visible, kinds, strict=True) if kd == "test"]
    edits = [i for i, kd in enumerate(kinds, start=1) if kd == "edit"]
    actions = [t.action.strip() for t in visible]
    out.update({
        "n_files_read": float(len(read_paths)), "n_files_edited": float(len(edit_paths)),
        "n_test_runs": float(len(tests)),
        "n_test_failures": float(sum(bool(_FAIL.search(t.observation)) for t in tests)),
        "created_repro": float(any(_REPRO.search(p) for p in edit_paths)),
        "first_edit_turn": float(edits[0] if edits else k + 1),
        "n_repeated": float(len(actions) - len(set(actions))),
        "ran_script": float(any(_RUN_SCRIPT.search(a) for a in actions)),
        "ran_script_saw_error": float(any(_RUN_SCRIPT.search(t.action) and ("Traceback" in t.observation
                                                                          or _ERROR.search(t.observation))
                                          for t in visible)),
        "edited_source": float(any(not _REPRO.search(p) for p in edit_paths)),
    })
    return out


def turn_features(trajectory: Trajectory | None, k: int) -> dict[str, float]:
    """Numeric features of turns 1..k of `trajectory` (all zero for k = 0 or no trajectory)."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    visible: tuple[Turn, ...] = trajectory.turns[:k] if trajectory is not None and k > 0 else ()
    out = dict.fromkeys(TRAJECTORY_FEATURES, 0.0)
    if not visible:
        return out
    out.update(_turn_counts(visible, k))
    observations = [t.observation for t in visible]
    out.update({
        "turns_seen": float(len(visible)), "ended_before_k": float(len(visible) < k),
        "n_tracebacks": float(sum("Traceback" in o for o in observations)),
        "n_errors": float(sum(len(_ERROR.findall(o)) for o in observations)),
        "n_not_found": float(sum(bool(_NOT_FOUND.search(o)) for o in observations)),
        "obs_chars_total": float(sum(t.observation_chars for t in visible)),
        "obs_chars_max": float(max(t.observation_chars for t in visible)),
        "n_empty_obs": float(sum(not o.strip() for o in observations)),
        "action_chars_total": float(sum(len(t.action) for t in visible)),
        "thought_chars_total": float(sum(len(t.thought) for t in visible)),
        "prompt_tokens_last": _nan0(visible[-1].prompt_tokens),
        "completion_tokens_total": float(sum(_nan0(t.completion_tokens) for t in visible)),
        "cost_usd_so_far": float(sum(_nan0(t.cost_usd) for t in visible)),
    })
    return out


def turns_text(trajectory: Trajectory | None, k: int) -> str:
    """Thoughts and actions of turns 1..k as one string (for a bag of words); empty for k = 0."""
    if trajectory is None or k <= 0:
        return ""
    return "\n".join(f"{t.thought}\n{t.action}" for t in trajectory.turns[:k])


def turns_full_text(trajectory: Trajectory | None, k: int) -> str:
    """Thoughts, actions and observations of turns 1..k as one string (the bag-of-words baseline's input)."""
    if trajectory is None or k <= 0:
        return ""
    return "\n".join(f"{t.thought}\n{t.action}\n{t.observation}" for t in trajectory.turns[:k])


def task_features(text: str) -> dict[str, float]:
    """Description-only numbers of a task statement."""
    return {
        "text_chars": float(len(text)), "text_lines": float(text.count("\n") + 1),
        "text_code_blocks": float(text.count("```") // 2), "text_has_traceback": float("Traceback" in text),
        "text_n_paths": float(len(action_paths(text))),
    }


def feature_frame(task_ids: Sequence[str], trajectories: Mapping[str, Trajectory], texts: Mapping[str, str],
                  k: int) -> pd.DataFrame:
    """One row per task: turn-K features, grounding features (`GROUNDING_FEATURES`), task-text features, the raw
    text (`text`), repository (`repo`), the turns' thoughts and actions (`turns_text`), also their observations
    (`turns_full_text`), and thoughts, actions and observations apart (`thoughts_text`, `actions_text`, `obs_text`)."""
    rows = [{**turn_features(trajectories.get(t), k), **grounding_features(trajectories.get(t), k, texts.get(t, "")),
             **task_features(texts.get(t, ""))} for t in task_ids]
    frame = pd.DataFrame(rows, index=pd.Index(list(task_ids), name="task_id"), dtype=float)
    frame["text"] = [texts.get(t, "") for t in task_ids]
    frame["repo"] = [t.split("__")[0] if "__" in t else "" for t in task_ids]
    frame["turns_text"] = [turns_text(trajectories.get(t), k) for t in task_ids]
    frame["turns_full_text"] = [turns_full_text(trajectories.get(t), k) for t in task_ids]
    apart = [turn_texts(trajectories.get(t), k) for t in task_ids]
    for column in ("thoughts_text", "actions_text", "obs_text"):
        frame[column] = [a[column] for a in apart]
    return frame


def cost_so_far_usd(trajectories: Mapping[str, Trajectory], task_ids: Sequence[str], k: int) -> np.ndarray:
    """Cost of turns 1..k per task (0 where unknown)."""
    return np.array([turn_features(trajectories.get(t), k)["cost_usd_so_far"] for t in task_ids])

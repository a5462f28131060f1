"""Features that ground turns 1..K in the problem statement: localisation, reproduction, per-turn tokens.

Localisation: do the files, modules and identifiers the agent opened, searched or edited (and saw in the
observations) match those the statement names? Reproduction: did a script run in turns 1..K raise an error,
and does its output share the exception names and tokens the statement quotes? Every function reads only
`trajectory.turns[:k]` and the statement text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aco.trajectories.loader import Trajectory, Turn
from aco.trajectories.steps import action_paths, classify_step

_IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{3,}\b")
_CODE_IDENT = re.compile(r"`([^`\n]{2,80})`|\b([A-Za-z_]\w*)\(|\b([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)\b"
                         r"|\b([a-z0-9]+(?:_[a-z0-9]+)+)\b|\b([a-z_]\w*(?:\.[a-z_]\w*)+)\b")
_EXC = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Warning))\b")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
_DEF = re.compile(r"\b(?:def|class)\s+([A-Za-z_]\w*)")
_RUN_SCRIPT = re.compile(r"\bpython3?\s+(?!-m\b)\S+\.py\b")
_STOP = frozenset({
    "self", "none", "true", "false", "return", "import", "from", "with", "this", "that", "should", "would",
    "when", "have", "there", "which", "code", "file", "python", "error", "expected", "actual", "result",
    "output", "example", "following", "print", "line", "test", "tests", "traceback", "most", "recent", "call",
    "last", "value", "type", "class", "def", "data", "name", "version", "using", "issue", "problem", "also",
})

GROUNDING_FEATURES = (
    "loc_stmt_idents", "loc_stmt_modules", "loc_ident_in_actions", "loc_ident_in_obs", "loc_module_touched",
    "loc_module_edited", "loc_def_seen", "loc_dir_overlap",
    "repro_ran", "repro_error", "repro_stmt_exc", "repro_exc_match", "repro_token_overlap", "repro_code_overlap",
    *(f"prompt_tokens_turn{i}" for i in range(1, 7)), *(f"completion_tokens_turn{i}" for i in range(1, 7)),
)


def statement_identifiers(text: str) -> set[str]:
    """Code-like names the statement mentions: backticked names, calls, CamelCase, snake_case, dotted names."""
    found: set[str] = set()
    for groups in _CODE_IDENT.findall(text):
        for g in groups:
            for part in re.split(r"[^\w]+", g):
                if len(part) >= 3 and part.lower() not in _STOP and not part.isdigit():
                    found.add(part)
    return found


def statement_modules(text: str) -> set[str]:
    """Module stems the statement names: file basenames without extension and dotted-path components."""
    stems = {p.rsplit("/", 1)[-1].rsplit(".", 1)[0] for p in action_paths(text)}
    for dotted in re.findall(r"\b[a-z_]\w*(?:\.[a-z_]\w*){1,}\b", text):
        stems.update(dotted.split("."))
    return {s for s in stems if len(s) >= 3 and s.lower() not in _STOP and s != "__init__"}


def _path_parts(paths: Sequence[str]) -> set[str]:
    return {part.rsplit(".", 1)[0] for p in paths for part in p.split("/") if part and part not in (".", "testbed")}


def _share(wanted: set[str], text: str) -> float:
    return sum(w in text for w in wanted) / len(wanted) if wanted else 0.0


def localisation_features(visible: Sequence[Turn], text: str) -> dict[str, float]:
    """Overlap between what turns 1..K touched and the identifiers/modules/paths of the statement."""
    idents, modules = statement_identifiers(text), statement_modules(text)
    actions = "\n".join(t.action for t in visible)
    observations = "\n".join(t.observation for t in visible)
    kinds = [classify_step(t.action) for t in visible]
    touched = [p for t in visible for p in action_paths(t.action)]
    edited = [p for t, kd in zip(visible, kinds, strict=True) if kd == "edit" for p in action_paths(t.action)]
    stems_touched = {p.rsplit("/", 1)[-1].rsplit(".", 1)[0] for p in touched}
    stems_edited = {p.rsplit("/", 1)[-1].rsplit(".", 1)[0] for p in edited}
    defs = set(_DEF.findall(observations))
    dirs = _path_parts(touched) | _path_parts(action_paths(observations)[:200])
    return {
        "loc_stmt_idents": float(len(idents)), "loc_stmt_modules": float(len(modules)),
        "loc_ident_in_actions": _share(idents, actions), "loc_ident_in_obs": _share(idents, observations),
        "loc_module_touched": float(bool(modules & stems_touched)),
        "loc_module_edited": float(bool(modules & stems_edited)),
        "loc_def_seen": len(idents & defs) / len(idents) if idents else 0.0,
        "loc_dir_overlap": len(modules & dirs) / len(modules) if modules else 0.0,
    }


def _tokens(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}


def _code_blocks(text: str) -> str:
    blocks = re.findall(r"```.*?```", text, flags=re.S)
    tb = text[text.find("Traceback"):] if "Traceback" in text else ""
    return "\n".join(blocks) + "\n" + tb


def reproduction_features(visible: Sequence[Turn], text: str) -> dict[str, float]:
    """Whether a script run in turns 1..K erred, and how much its output matches the statement's error/output."""
    runs = [t.observation for t in visible if _RUN_SCRIPT.search(t.action)]
    stmt_exc = set(_EXC.findall(text))
    run_text = "\n".join(runs)
    run_exc = set(_EXC.findall(run_text))
    run_tokens, stmt_tokens, code_tokens = _tokens(run_text), _tokens(text), _tokens(_code_blocks(text))
    return {
        "repro_ran": float(bool(runs)),
        "repro_error": float(any("Traceback" in o or _EXC.search(o) for o in runs)),
        "repro_stmt_exc": float(bool(stmt_exc)),
        "repro_exc_match": float(bool(stmt_exc & run_exc)),
        "repro_token_overlap": len(run_tokens & stmt_tokens) / len(stmt_tokens) if stmt_tokens and runs else 0.0,
        "repro_code_overlap": len(run_tokens & code_tokens) / len(code_tokens) if code_tokens and runs else 0.0,
    }


def token_features(visible: Sequence[Turn]) -> dict[str, float]:
    """Prompt and completion tokens of each of turns 1..6 seen so far (0 where not seen or unknown)."""
    out: dict[str, float] = {}
    for i in range(1, 7):
        turn = visible[i - 1] if i <= len(visible) else None
        prompt = turn.prompt_tokens if turn is not None else 0.0
        completion = turn.completion_tokens if turn is not None else 0.0
        out[f"prompt_tokens_turn{i}"] = 0.0 if prompt != prompt else float(prompt)  # NaN -> 0
        out[f"completion_tokens_turn{i}"] = 0.0 if completion != completion else float(completion)
    return out


def grounding_features(trajectory: Trajectory | None, k: int, text: str) -> dict[str, float]:
    """All grounding features of turns 1..k against the statement `text` (all zero for k = 0 or no trajectory)."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    visible: tuple[Turn, ...] = trajectory.turns[:k] if trajectory is not None and k > 0 else ()
    out = dict.fromkeys(GROUNDING_FEATURES, 0.0)
    if not visible:
        return out
    out.update(localisation_features(visible, text))
    out.update(reproduction_features(visible, text))
    out.update(token_features(visible))
    return out


def turn_texts(trajectory: Trajectory | None, k: int) -> dict[str, str]:
    """Thoughts, actions and observations of turns 1..k as three separate strings (empty for k = 0)."""
    visible = trajectory.turns[:k] if trajectory is not None and k > 0 else ()
    return {"thoughts_text": "\n".join(t.thought for t in visible),
            "actions_text": "\n".join(t.action for t in visible),
            "obs_text": "\n".join(t.observation for t in visible)}

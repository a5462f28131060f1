"""RouteLLM's evaluation data: Mixtral-8x7B (weak) vs GPT-4-1106 (strong) on MMLU, GSM8K and MT-Bench.

Prompts listed in each benchmark's `contaminated_prompts.jsonl` (`eval_prompt`) are excluded, as RouteLLM
does. The data has no prices: by default a strong call costs 1.0 and a weak call 0.0, so a router's mean
cost is its share of strong calls (metadata `cost_unit`); pass `usd_per_call` to price the calls instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from aco.datasets.generic import read_jsonl
from aco.datasets.table import OutcomeTable, assign_cost_tiers
from aco.errors import DataError
from aco.records import ModelSpec

FOLDER = "routellm"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG = "gpt-4-1106-preview"
MODELS = (WEAK, STRONG)
PROVIDERS = {WEAK: "Mistral AI", STRONG: "OpenAI"}


def contaminated_prompts(path: Path) -> set[str]:
    """The `eval_prompt` values of a RouteLLM contamination file."""
    frame, lines = read_jsonl(path)
    if "eval_prompt" not in frame.columns:
        line = int(lines[0]) if len(lines) else None
        raise DataError("missing field 'eval_prompt'", path=path, line=line, field="eval_prompt")
    return set(frame["eval_prompt"].astype(str))


def prompt_ids(prefix: str, prompts: pd.Series) -> np.ndarray:
    """Stable task ids: `<prefix>-` + the first 16 hex digits of the prompt's sha1."""
    return np.asarray([f"{prefix}-{hashlib.sha1(p.encode('utf-8')).hexdigest()[:16]}" for p in prompts],
                      dtype=object)


def _costs(n_tasks: int, usd_per_call: Mapping[str, float] | None) -> tuple[np.ndarray, dict[str, str]]:
    if usd_per_call is None:
        return np.tile(np.array([0.0, 1.0]), (n_tasks, 1)), {"cost_unit": "strong-call share"}
    missing = [m for m in MODELS if m not in usd_per_call]
    if missing:
        raise DataError(f"usd_per_call has no price for {', '.join(missing)}", field="usd_per_call")
    prices = np.array([float(usd_per_call[m]) for m in MODELS])
    return np.tile(prices, (n_tasks, 1)), {"cost_unit": "usd (given per call)"}


def _table(name: str, tasks: pd.DataFrame, score: np.ndarray, usd_per_call: Mapping[str, float] | None,
           *, path: Path, excluded: int, duplicates: int = 0,
           signals: Mapping[str, np.ndarray] | None = None) -> OutcomeTable:
    cost, unit = _costs(len(tasks), usd_per_call)
    specs = assign_cost_tiers([ModelSpec(name=m, provider=PROVIDERS[m]) for m in MODELS], cost.mean(axis=0))
    return OutcomeTable(
        name=name, tasks=tasks, models=specs, score=score, cost_usd=cost, signals=dict(signals or {}),
        observable_signals=("response",) if signals else (),
        metadata={**unit, "weak": WEAK, "strong": STRONG, "excluded_contaminated": excluded,
                  "dropped_duplicate_prompts": duplicates, "path": str(path)},
    )


def _require_models(frame: pd.DataFrame, path: Path) -> None:
    for model in MODELS:
        if model not in frame.columns:
            raise DataError(f"missing column {model!r}", path=path, line=1, field=model)


def _scores(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """The models' correctness columns (True/False or 1/0) as a tasks x 2 float array."""
    text = frame[list(MODELS)].astype(str).apply(lambda c: c.str.strip().str.lower())
    truth = text.isin(["true", "1", "1.0"]).to_numpy()
    valid = truth | text.isin(["false", "0", "0.0"]).to_numpy()
    if not valid.all():
        row, col = (int(x[0]) for x in np.nonzero(~valid))
        raise DataError(f"not a correctness flag: {text.iloc[row, col]!r} (prompt {row + 1} after filtering)",
                        path=path, field=MODELS[col])
    return np.asarray(truth, dtype=float)


def _decontaminate(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, int, int]:
    """Rows not listed as contaminated, duplicate prompts dropped (first kept); and how many of each."""
    listed = frame["prompt"].isin(contaminated_prompts(path))
    kept = frame.loc[~listed.to_numpy()]
    unique = kept.drop_duplicates("prompt")
    return unique.reset_index(drop=True), int(listed.sum()), int(len(kept) - len(unique))


def load_mmlu(data_dir: Path, usd_per_call: Mapping[str, float] | None = None) -> OutcomeTable:
    """RouteLLM MMLU: 57 subject files, contaminated prompts excluded, duplicate prompts kept once."""
    folder = data_dir / FOLDER / "mmlu"
    files = sorted((folder / "responses").glob("mmlu_*.csv"))
    if not files:
        raise DataError("no mmlu_<subject>.csv files", path=folder / "responses")
    frames = []
    for path in files:
        frame = pd.read_csv(path, dtype={"prompt": str})
        _require_models(frame, path)
        frames.append(frame.assign(subject=path.stem.removeprefix("mmlu_")))
    frame, excluded, duplicates = _decontaminate(pd.concat(frames, ignore_index=True),
                                                 folder / "contaminated_prompts.jsonl")
    ids = prompt_ids("mmlu", frame["prompt"])
    tasks = pd.DataFrame({"text": frame["prompt"].to_numpy(), "category": frame["subject"].to_numpy(),
                          "source": "mmlu", "group": frame["subject"].to_numpy()}, index=ids)
    return _table("routellm-mmlu", tasks, _scores(frame, folder / "responses"), usd_per_call, path=folder,
                  excluded=excluded, duplicates=duplicates)


def load_gsm8k(data_dir: Path, usd_per_call: Mapping[str, float] | None = None) -> OutcomeTable:
    """RouteLLM GSM8K: 1,319 problems less the contaminated ones; each model's response is a signal."""
    folder = data_dir / FOLDER / "gsm8k"
    path = folder / "gsm8k_responses.csv"
    frame = pd.read_csv(path, dtype={"prompt": str})
    _require_models(frame, path)
    frame, excluded, duplicates = _decontaminate(frame, folder / "contaminated_prompts.jsonl")
    ids = prompt_ids("gsm8k", frame["prompt"])
    responses = np.column_stack([frame.get(f"{m}_response", pd.Series("", index=frame.index)).fillna("")
                                 .to_numpy(dtype=object) for m in MODELS])
    tasks = pd.DataFrame({"text": frame["prompt"].to_numpy(), "category": "gsm8k", "source": "gsm8k",
                          "group": ids}, index=ids)
    return _table("routellm-gsm8k", tasks, _scores(frame, path), usd_per_call, path=folder,
                  excluded=excluded, duplicates=duplicates, signals={"response": responses})


def _mtbench_questions(folder: Path) -> tuple[pd.DataFrame, int]:
    questions, _ = read_jsonl(folder / "question.jsonl")
    turns = questions["turns"]
    first, second = turns.str[0].fillna("").astype(str), turns.str[1].fillna("").astype(str)
    listed = contaminated_prompts(folder / "contaminated_prompts.jsonl")
    bad = (first.isin(listed) | second.isin(listed)).to_numpy()
    kept = pd.DataFrame({"text": first, "category": questions["category"].astype(str), "source": "mt-bench",
                         "group": questions["category"].astype(str), "second_turn": second})
    kept.index = questions["question_id"].astype(str)
    return kept.loc[~bad], int(bad.sum())


def load_mtbench(data_dir: Path, usd_per_call: Mapping[str, float] | None = None) -> OutcomeTable:
    """RouteLLM MT-Bench: GPT-4 judge grades 1-10 per turn; score = mean grade over the turns / 10."""
    folder = data_dir / FOLDER / "mt_bench"
    tasks, excluded = _mtbench_questions(folder)
    path = folder / "judgements.jsonl"
    judgements, lines = read_jsonl(path)
    out_of_range = ~judgements["score"].between(1, 10).to_numpy()
    if out_of_range.any():
        line = int(lines[np.flatnonzero(out_of_range)[0]])
        raise DataError("grade outside 1-10", path=path, line=line, field="score")
    grades = judgements.assign(question_id=judgements["question_id"].astype(str))
    mean = grades.groupby(["question_id", "model"])["score"].mean().unstack("model")
    mean = mean.reindex(index=tasks.index, columns=list(MODELS))
    missing = mean.isna().to_numpy()
    if missing.any():
        row, col = (int(x[0]) for x in np.nonzero(missing))
        raise DataError(f"no grade of {MODELS[col]!r} for question {mean.index[row]}", path=path, field="score")
    return _table("routellm-mtbench", tasks, mean.to_numpy(dtype=float) / 10.0, usd_per_call, path=folder,
                  excluded=excluded)

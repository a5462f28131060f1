"""Rebuild the derived SWE-bench Verified files from their public upstream sources.

The shared `swebench-verified/` files are not upstream copies:

* `per_instance_long.csv` and `models_meta.csv` flatten the `bash-only` leaderboard of
  `data/leaderboards.json` (SWE-bench/swe-bench.github.io): one row per (system, instance) from each
  result's `per_instance_details`, and one row of aggregates per system. A system whose per-instance
  resolved share differs from its reported `resolved` percentage by more than `tolerance_pp` percentage
  points is flagged `per_instance_inconsistent_with_aggregate` (the loader drops flagged systems).
* `instances.jsonl` keeps 4 fields of `data/swebench_verified.jsonl` (ITMO-NSS-team/chronorepo_icdm26).

Derived bytes are verified with `content_digest`: a sha256 of a canonical serialisation (sorted rows,
numbers normalised) that does not depend on float spelling, column order or line endings.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from aco.errors import DataError

LEADERBOARD = "bash-only"
FLAG_INCONSISTENT = "per_instance_inconsistent_with_aggregate"
DEFAULT_TOLERANCE_PP = 1.0
RUN_COLUMNS = ("instance_id", "repo", "model", "folder", "resolved", "cost_usd", "api_calls")
META_COLUMNS = ("name", "model_tag", "folder", "date", "resolved_pct", "total_cost_usd", "instance_cost_usd",
                "instance_calls", "mini_swe_agent_version", "has_per_instance", "n_per_instance",
                "n_resolved_per_instance", "flag")
INSTANCE_FIELDS = ("instance_id", "repo", "base_commit", "problem_statement")
RUNS_FILE, META_FILE, INSTANCES_FILE = "per_instance_long.csv", "models_meta.csv", "instances.jsonl"


def _csv_bytes(header: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    """CSV with the csv module's defaults (CRLF), None as an empty cell: the shared files' format."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def leaderboard_results(document: Mapping[str, Any], board: str = LEADERBOARD) -> list[dict[str, Any]]:
    """The `results` of leaderboard `board` in a parsed leaderboards.json."""
    boards = document.get("leaderboards") if isinstance(document, Mapping) else None
    if not isinstance(boards, list):
        raise DataError("leaderboards.json has no 'leaderboards' list", field="leaderboards")
    for entry in boards:
        if isinstance(entry, Mapping) and entry.get("name") == board:
            return [dict(r) for r in entry.get("results", [])]
    raise DataError(f"leaderboards.json has no leaderboard named {board!r}", field="leaderboards")


def _details(result: Mapping[str, Any]) -> dict[str, Any]:
    details = result.get("per_instance_details")
    return dict(details) if isinstance(details, Mapping) else {}


def _model_tag(result: Mapping[str, Any]) -> str:
    tags = [str(t) for t in result.get("tags") or [] if str(t).startswith("Model: ")]
    return tags[0].removeprefix("Model: ") if tags else ""


def _require(result: Mapping[str, Any], key: str, index: int) -> Any:
    if key not in result:
        raise DataError(f"bash-only result #{index} has no {key!r}", field=key)
    return result[key]


def runs_rows(results: list[dict[str, Any]]) -> list[list[Any]]:
    """per_instance_long.csv rows: every system's per-instance runs, systems in leaderboard order."""
    rows: list[list[Any]] = []
    for index, result in enumerate(results):
        name, folder = _require(result, "name", index), _require(result, "folder", index)
        for instance_id, run in _details(result).items():
            try:
                rows.append([instance_id, instance_id.split("__")[0], name, folder, int(bool(run["resolved"])),
                             float(run["cost"]), int(run["api_calls"])])
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"bad per_instance_details of {name!r} for {instance_id!r}: {exc!r}",
                                field="per_instance_details") from None
    return rows


def meta_rows(results: list[dict[str, Any]], tolerance_pp: float = DEFAULT_TOLERANCE_PP) -> list[list[Any]]:
    """models_meta.csv rows: reported aggregates, per-instance counts and the consistency flag."""
    rows: list[list[Any]] = []
    for index, result in enumerate(results):
        details = _details(result)
        resolved_pct = _require(result, "resolved", index)
        n_resolved = sum(bool(run.get("resolved")) for run in details.values()) if details else None
        inconsistent = (n_resolved is not None
                        and abs(100.0 * n_resolved / len(details) - float(resolved_pct)) > tolerance_pp)
        rows.append([_require(result, "name", index), _model_tag(result), result.get("folder"), result.get("date"),
                     resolved_pct, result.get("cost"), result.get("instance_cost"), result.get("instance_calls"),
                     result.get("mini-swe-agent_version"), bool(details), len(details), n_resolved,
                     FLAG_INCONSISTENT if inconsistent else ""])
    return rows


def instances_bytes(jsonl: bytes, source: str = "swebench_verified.jsonl") -> bytes:
    """instances.jsonl: the 4 fields the loader reads, one JSON object per line, source order."""
    lines: list[str] = []
    for number, line in enumerate(jsonl.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kept = {field: record[field] for field in INSTANCE_FIELDS}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DataError(f"bad instance record in {source} line {number}: {exc!r}", line=number) from None
        lines.append(json.dumps(kept, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")


def derive_swebench(leaderboards_json: bytes, instances_jsonl: bytes,
                    tolerance_pp: float = DEFAULT_TOLERANCE_PP) -> dict[str, bytes]:
    """The three derived files (name -> bytes) from the raw upstream leaderboards.json and instances jsonl."""
    try:
        document = json.loads(leaderboards_json)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"leaderboards.json is not JSON: {exc}") from None
    results = leaderboard_results(document)
    return {RUNS_FILE: _csv_bytes(RUN_COLUMNS, runs_rows(results)),
            META_FILE: _csv_bytes(META_COLUMNS, meta_rows(results, tolerance_pp)),
            INSTANCES_FILE: instances_bytes(instances_jsonl)}


def _digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical_runs(data: bytes) -> str:
    runs = pd.read_csv(io.BytesIO(data), dtype={"instance_id": str, "repo": str, "model": str, "folder": str})
    frame = pd.DataFrame({"instance_id": runs["instance_id"], "repo": runs["repo"], "model": runs["model"],
                          "folder": runs["folder"], "resolved": runs["resolved"].astype(int),
                          "cost_usd": runs["cost_usd"].astype(float).round(9),
                          "api_calls": runs["api_calls"].astype(int)})
    frame = frame.sort_values(["model", "instance_id"], kind="stable")
    return str(frame.to_csv(index=False, lineterminator="\n", float_format="%.9f"))


def _canonical_meta(data: bytes) -> str:
    meta = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    frame = meta[["name", "model_tag", "folder", "date", "mini_swe_agent_version", "flag"]].copy()
    for column in ("resolved_pct", "total_cost_usd", "instance_cost_usd", "instance_calls", "n_per_instance",
                   "n_resolved_per_instance"):
        frame[column] = pd.to_numeric(meta[column].replace("", None)).astype(float).round(9)
    frame["has_per_instance"] = meta["has_per_instance"].str.lower()
    frame = frame.sort_values("name", kind="stable")
    return str(frame.to_csv(index=False, lineterminator="\n", float_format="%.9f", na_rep=""))


def _canonical_instances(data: bytes) -> str:
    records = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    rows = sorted([str(r[field]) for field in INSTANCE_FIELDS] for r in records)
    return json.dumps(rows, ensure_ascii=True)


_CANONICAL: dict[str, Callable[[bytes], str]] = {
    RUNS_FILE: _canonical_runs, META_FILE: _canonical_meta, INSTANCES_FILE: _canonical_instances,
}


def content_digest(file_name: str, data: bytes) -> str:
    """sha256 of the canonical serialisation of one derived file (by its base name)."""
    if file_name not in _CANONICAL:
        raise DataError(f"no canonical form for {file_name!r}; known: {', '.join(_CANONICAL)}")
    try:
        return _digest_text(_CANONICAL[file_name](data))
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read {file_name} for its content digest: {exc!r}") from None

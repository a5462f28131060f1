"""Upstream-shaped SWE-bench sources rebuilt from the shared derived files (the inverse transform).

`leaderboards_json` turns per_instance_long.csv + models_meta.csv back into a leaderboards.json with the
fields of SWE-bench/swe-bench.github.io's file (plus noise: extra fields, a second leaderboard); the
number cells are parsed with json.loads so ints stay ints and floats keep their exact value.
`chronorepo_jsonl` adds extra fields (and ASCII escaping) to instances.jsonl, like the chronorepo file.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

FOLDER = "swebench-verified"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _details(runs: list[dict[str, str]]) -> dict[str, Any]:
    return {r["instance_id"]: {"api_calls": int(r["api_calls"]), "cost": float(r["cost_usd"]),
                               "resolved": r["resolved"] == "1"} for r in runs}


def _result(meta: dict[str, str], runs: list[dict[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "checked": True, "cost": json.loads(meta["total_cost_usd"]), "date": meta["date"], "folder": meta["folder"],
        "instance_calls": json.loads(meta["instance_calls"]), "instance_cost": json.loads(meta["instance_cost_usd"]),
        "logo": ["https://example.invalid/logo.png"], "mini-swe-agent_version": meta["mini_swe_agent_version"],
        "name": meta["name"], "os_model": False, "resolved": json.loads(meta["resolved_pct"]),
        "tags": [f"Model: {meta['model_tag']}", "Org: Example", "System: Attempts - 1"], "warning": None,
    }
    if meta["has_per_instance"] == "True":
        result["per_instance_details"] = _details(runs)
    return result


def leaderboards_json(data_dir: Path) -> bytes:
    """A leaderboards.json whose bash-only board derives back to the shared files."""
    folder = data_dir / FOLDER
    runs = _rows(folder / "per_instance_long.csv")
    by_model: dict[str, list[dict[str, str]]] = {}
    for run in runs:
        by_model.setdefault(run["model"], []).append(run)
    results = [_result(meta, by_model.get(meta["name"], [])) for meta in _rows(folder / "models_meta.csv")]
    decoy = {"name": "Verified", "results": [{"name": "decoy", "folder": "x", "resolved": 1.0}]}
    return json.dumps({"leaderboards": [decoy, {"name": "bash-only", "results": results}]}, indent=2).encode()


def chronorepo_jsonl(data_dir: Path) -> bytes:
    """instances.jsonl with extra fields per record, ASCII-escaped, as the chronorepo file has them."""
    out = io.StringIO()
    for line in (data_dir / FOLDER / "instances.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.update(patch=f"diff --git a/{record['instance_id']}", version="1.0")
        out.write(json.dumps(record) + "\n")
    return out.getvalue().encode("utf-8")

"""End to end on loopback: replay upstream + proxy under uvicorn, the official `openai` client, outcomes,
then the SQLite store and /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pandas as pd
import pytest

from aco.datasets.routerbench import unwrap_prompt
from aco.server.launch import replay_stack
from aco.store import Store

KEY = "e2e-admin-key"
EXAMPLE = Path(__file__).parents[2] / "examples" / "aco.toml"
FILES = {"arc_challenge": "arc-challenge", "mbpp": "mbpp", "winograde": "winogrande"}


@pytest.fixture(scope="module")
def live(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    tmp = tmp_path_factory.mktemp("e2e")
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": KEY}
    with replay_stack(EXAMPLE, tmp, env) as stack:
        yield stack.proxy_url, stack.upstream_url, tmp / "aco.db"


def _prompts(data_dir: Path, per_file: int) -> list[tuple[str, str]]:
    out = []
    for name, category in FILES.items():
        frame = pd.read_csv(data_dir / "routerbench" / f"{name}_test.csv", nrows=per_file)
        out += [(unwrap_prompt(p), category) for p in frame["prompt"]]
    return out


def test_openai_client_through_aco(live: tuple[str, str, Path], data_dir: Path) -> None:
    base, _, db = live
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="not-needed-for-routing", max_retries=0)
    prompts = _prompts(data_dir, 4)
    recorded_cost_usd = 0.0
    decision_ids = []
    for i, (text, category) in enumerate(prompts):
        raw = client.chat.completions.with_raw_response.create(
            model="aco/default", messages=[{"role": "user", "content": text}],
            extra_headers={"x-aco-task-id": f"e2e-{i}", "x-aco-category": category, "x-aco-step": "plan"})
        completion = raw.parse()
        assert completion.choices[0].message.content
        assert raw.headers["x-aco-model"] == completion.model
        decision_ids.append(raw.headers["x-aco-decision-id"])
        recorded_cost_usd += float(raw.headers["x-replay-cost-usd"])
        if category == "mbpp":
            assert completion.model != "mistralai/mistral-7b-chat"  # the tier-1 floor
        reply = httpx.post(f"{base}/v1/outcomes", headers={"authorization": f"Bearer {KEY}"}, json={
            "task_id": f"e2e-{i}", "success": float(raw.headers["x-replay-correct"]) >= 0.5,
            "verifier": "benchmark"})
        assert reply.status_code == 201, reply.text
    chunks = list(client.chat.completions.create(model="aco/default", stream=True,
                                                 messages=[{"role": "user", "content": prompts[0][0]}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    with pytest.raises(openai.NotFoundError, match="not in the RouterBench recordings"):
        client.chat.completions.create(model="aco/default", messages=[{"role": "user", "content": "no such prompt"}])

    store = Store.open(f"sqlite:///{db}")
    decisions = {d.decision_id: d for d in store.decisions()}
    assert set(decision_ids) <= set(decisions)
    outcomes = store.outcomes()
    assert len([o for o in outcomes if o.task_id.startswith("e2e-")]) == len(prompts)
    spent_usd = sum((store.budget(f"e2e-{i}") or (0, 0, 0))[2] for i in range(len(prompts)))
    assert spent_usd == pytest.approx(recorded_cost_usd)
    assert sum(o.cost_usd for o in outcomes) == pytest.approx(recorded_cost_usd)
    metrics = httpx.get(f"{base}/metrics").text
    assert "aco_chosen_model_total{" in metrics and "aco_cost_usd_total{" in metrics
    assert f'aco_requests_total{{endpoint="outcomes",status="201"}} {float(len(prompts))}' in metrics
    store.close()

"""A small config and a scripted fake upstream (httpx.MockTransport) shared by the server tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from aco.config import AcoConfig
from aco.datasets.table import OutcomeTable
from aco.records import ModelSpec
from aco.routers.category_beta import CategoryBetaRouter

MODELS = {"m-small": (0, 0.001), "m-mid": (1, 0.002), "m-big": (3, 0.01)}


def make_config(**profile: Any) -> AcoConfig:
    return AcoConfig.model_validate({
        "server": {"store_url": "sqlite:///unused.db", "max_body_bytes": 20_000},
        "upstreams": [{"name": "fake", "base_url": "http://upstream.test/v1", "max_retries": 1, "backoff_s": 0.0,
                       "timeout_s": 5}],
        "models": [{"name": n, "upstream": "fake", "tier": t, "usd_per_call": c} for n, (t, c) in MODELS.items()],
        "profiles": {"p": {"candidates": list(MODELS), "threshold": 0.7, "floors": {"secure": 3}, **profile}},
    })


def make_router(**params: Any) -> CategoryBetaRouter:
    """The test profile's rule (threshold 0.7, tier floor 3 for 'secure') fitted on 100 'easy' tasks (m-small,
    m-mid, m-big solve 90, 92, 95) and 100 'hard' ones (10, 30, 80): m-small is good at 'easy', only m-big at
    'hard'."""
    solved = {"easy": (90, 92, 95), "hard": (10, 30, 80)}
    categories = [c for c in solved for _ in range(100)]
    score = np.array([[float(i % 100 < n) for n in solved[c]] for i, c in enumerate(categories)])
    table = OutcomeTable(name="test prior", tasks=pd.DataFrame({"category": categories},
                                                               index=[f"t{i}" for i in range(len(categories))]),
                         models=tuple(ModelSpec(name=n, tier=t) for n, (t, _) in MODELS.items()), score=score,
                         cost_usd=np.tile([c for _, c in MODELS.values()], (len(categories), 1)))
    rule = {"threshold": 0.7, "prior_weight": 2.0, "floors": {"secure": 3},
            "cost_usd": {n: c for n, (_, c) in MODELS.items()}, **params}
    return CategoryBetaRouter(**rule).fit(table)


class _Stalling(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise httpx.ReadTimeout("stalled before the first chunk")
        yield b""  # pragma: no cover


class FakeUpstream:
    """Answers per model: 'ok' (default), '500', '429', '400', 'timeout', 'stall' (stream stalls), 'short'."""

    def __init__(self, behaviour: dict[str, str] | None = None) -> None:
        self.behaviour = behaviour or {}
        self.calls: list[str] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        model = body["model"]
        self.calls.append(model)
        mode = self.behaviour.get(model, "ok")
        if mode in ("500", "429", "400"):
            return httpx.Response(int(mode), json={"error": {"message": f"fake {mode}"}})
        if mode == "timeout":
            raise httpx.ReadTimeout("fake timeout", request=request)
        headers = {"x-replay-cost-usd": "0.0005"}
        if body.get("stream"):
            if mode == "stall":
                return httpx.Response(200, stream=_Stalling(), headers=headers)
            chunk = {"choices": [{"index": 0, "delta": {"content": f"hi from {model}"}}]}
            data = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
            return httpx.Response(200, content=data, headers={**headers, "content-type": "text/event-stream"})
        content = "x" if mode == "short" else f"a long enough answer from {model}"
        return httpx.Response(200, headers=headers, json={
            "id": "c1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}})


EASY_WORDS = ("reverse a string", "add two numbers", "sort a list", "count vowels", "sum a list")
HARD_WORDS = ("prove the theorem about graph", "solve the differential equation", "derive the closed form",
              "optimise the scheduling problem", "formal proof of the lemma")


def write_outcomes(path: Path, n_per_kind: int = 60) -> Path:
    """A long outcomes CSV over MODELS: easy texts every model solves, hard texts only m-big solves."""
    rows = []
    for i in range(2 * n_per_kind):
        hard = i % 2 == 1
        words = (HARD_WORDS if hard else EASY_WORDS)[i // 2 % 5]
        text = f"{words} number {i}"
        for model, (_tier, cost_usd) in MODELS.items():
            ok = model == "m-big" if hard else (i % 10 != 0 or model != "m-small")
            rows.append({"task_id": f"t{i}", "model": model, "score": float(ok), "cost_usd": cost_usd,
                         "text": text, "category": "code"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def train_artifact(folder: Path, router: str = "gbdt") -> Path:
    """Fit `router` on `write_outcomes` and save it as `folder/router.aco` (through aco.artifacts)."""
    from aco.artifacts import save_router
    from aco.datasets.registry import load_dataset
    from aco.routers.registry import make_router

    table = load_dataset(str(write_outcomes(folder / "outcomes.csv")))
    save_router(make_router(router).fit(table), table, folder / "router.aco", dataset="test outcomes")
    return folder / "router.aco"

"""The `agreement` (best-of-N) cascade: panel, selector, calibrated agreement, escalation; every answer paid; the
per-request decisions replay `route` exactly; real RouterBench answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aco.artifacts import load_router, save_router
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.evaluation.bench import default_router_specs, run_bench
from aco.records import ModelSpec
from aco.routers.agreement import AgreementRouter, parse_panel
from aco.routers.decision import Run, context_from_row
from aco.routers.registry import make_router

LETTERS = "ABCD"


def choice_table(n: int = 300, seed: int = 0) -> OutcomeTable:
    """Multiple-choice tasks: three cheap models right 60% of the time (wrong answers random), a strong one 95%."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, n)
    accuracy = {"c1": 0.6, "c2": 0.6, "c3": 0.6, "strong": 0.95}
    names = list(accuracy)
    right = np.column_stack([rng.random(n) < accuracy[m] for m in names])
    wrong = (truth[:, None] + rng.integers(1, 4, (n, len(names)))) % 4
    picked = np.where(right, truth[:, None], wrong)
    responses = np.array([[LETTERS[k] for k in row] for row in picked], dtype=object)
    text = [f"Question {i}?\nA) one\nB) two\nC) three\nD) four\nAnswer:" for i in range(n)]
    tasks = pd.DataFrame({"text": text, "category": "quiz"}, index=[f"q{i}" for i in range(n)])
    cost = np.tile([0.001, 0.001, 0.0012, 0.01], (n, 1))
    return OutcomeTable(name="quiz", tasks=tasks, models=tuple(ModelSpec(m) for m in names),
                        score=right.astype(float), cost_usd=cost, signals={"response": responses},
                        observable_signals=("response", "cost_usd"))


def test_agreement_escalates_disagreement_and_pays_every_answer() -> None:
    table = choice_table()
    train, test = table.subset(np.arange(200)), table.subset(np.arange(200, 300))
    router = AgreementRouter(value_usd=0.04).fit(train)
    panel = list(router.panel_)
    assert len(panel) >= 2 and set(panel) <= {0, 1, 2} and router.target_ == 3
    routing = router.route_table(test)
    paid = routing.paid(test.n_models)
    assert paid[:, panel].all()  # every panel answer is paid
    escalated = routing.model_idx == 3
    assert 0 < escalated.sum() < test.n_tasks and (paid[:, 3] == escalated).all()
    verified = routing.verified
    assert verified is not None and (~np.isnan(verified)).sum(axis=1).tolist() == [1] * test.n_tasks
    kept = ~escalated
    assert test.success[np.flatnonzero(kept), routing.model_idx[kept]].mean() > 0.8  # agreeing answers are right
    always = AgreementRouter(value_usd=0.04, threshold=0.0).fit(train).route_table(test)
    assert (always.model_idx != 3).all()  # the knob: never escalate
    assert "agreement (threshold" in (routing.reasons or [""])[0]


def test_decide_replays_route_one_call_at_a_time(tmp_path: Path) -> None:
    table = choice_table()
    train, test = table.subset(np.arange(200)), table.subset(np.arange(200, 260))
    router = AgreementRouter(value_usd=0.04).fit(train)
    save_router(router, train, tmp_path / "a.aco", dataset="quiz")
    loaded, metadata = load_router(tmp_path / "a.aco")
    assert metadata["policy"]["panel"] == [train.model_names[j] for j in router.panel_]
    routing = router.route_table(test)
    responses = test.task_set().observable["response"]
    for row in range(test.n_tasks):
        context = context_from_row(test.tasks, row)
        called = []
        for _ in range(5):
            decision = loaded.decide(context)
            if decision.action == "stop":
                break
            called.append(decision.model)
            j = test.model_index(decision.model)
            context = context.with_run(Run(decision.model, {"response": responses[row, j], "cost_usd": 0.001}))
        assert decision.model == test.model_names[routing.model_idx[row]]
        assert sorted(called) == sorted(test.model_names[j] for j in np.flatnonzero(routing.paid(4)[row]))


def test_panel_specs_and_requirements() -> None:
    table = choice_table(60)
    assert parse_panel("c1+c2>strong", table.model_names) == ((0, 1), 3)
    router = make_router("agreement:c1+c3>strong").fit(table)
    assert router.panel_ == (0, 2) and router.target_ == 3  # type: ignore[attr-defined]
    for spec, message in (("c1", "at least two"), ("c1+c1", "at least two"), ("c1+x", "unknown model 'x'"),
                          ("c1+c2>c1", "target is in the panel")):
        with pytest.raises(AcoError, match=message):
            parse_panel(spec, table.model_names)
    no_text = OutcomeTable(name="plain", tasks=table.tasks, models=table.models, score=table.score,
                           cost_usd=table.cost_usd)
    assert "needs recorded model responses" in (AgreementRouter().unmet_requirement(no_text) or "")
    assert "agreement" in default_router_specs(table)


@pytest.mark.realdata
def test_real_routerbench_answers_agree_and_the_bench_scores_the_verifier(data_dir: Path) -> None:
    from aco.datasets.registry import load_dataset
    from aco.policies.objective import Objective

    table = load_dataset("routerbench-mbpp", data_dir)
    result = run_bench(table, ["agreement"], folds=2, objective=Objective.given(1.0))
    row = result.rows[0]
    verifier = row["verifier"]
    assert verifier["name"] == "agreement" and verifier["runs"] == table.n_tasks
    assert 0.55 < verifier["auc"] <= 1.0 and verifier["auc_ci"][0] < verifier["auc"] < verifier["auc_ci"][1]
    panel_cost = row["cost_usd"]
    assert len(row["curve"]) == len(AgreementRouter.knob_grid) and panel_cost > 0

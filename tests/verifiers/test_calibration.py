"""The entropy calibrator refits from the store's reported outcomes (SQLite and PostgreSQL) through the SDK, and
`aco evaluate-log` shows every verifier's calibration."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from aco.cli.app import build_app
from aco.sdk import Optimizer
from aco.store import Store
from aco.verifiers.calibration import calibration_rows, labelled_verdicts
from aco.verifiers.entropy import EntropyVerifier
from tests.server.fakes import make_config, make_router
from tests.verifiers.test_entropy import logprobs


def test_entropy_calibrator_refits_from_reported_outcomes(any_store: Store) -> None:
    config = make_config(verifiers=[{"name": "entropy", "min_outcomes": 12, "refit_every": 4}])
    optimizer = Optimizer(config, any_store, routers={"p": make_router()})
    verifier = optimizer.profile("p").verifiers[0]
    assert isinstance(verifier, EntropyVerifier) and verifier.calibrator_ is None
    rng = np.random.default_rng(1)
    for i, confidence in enumerate(rng.uniform(0.3, 0.99, 24)):
        task = optimizer.start_task(f"task {i}", category="easy", task_id=f"t{i}")
        decision = task.route()
        task.observe(decision, cost_usd=0.001, response="A", signals={"logprobs": logprobs(float(confidence))})
        verified = task.verify()
        assert [v.verifier for v in verified.verdicts] == ["entropy"]
        if i < 12:
            assert verified.verdicts[0].abstained and "not calibrated yet" in verified.verdicts[0].reason
            assert not verified.rejected  # an abstention leaves the answer standing
        task.finish(success=bool(confidence > 0.65), verifier="tests")
    assert verifier.calibrator_ is not None and verifier.calibrator_.n >= 12  # refitted from the store
    assert len(labelled_verdicts(any_store, "entropy", "p")) == 24
    task = optimizer.start_task("sure", category="easy")
    task.observe(task.route(), cost_usd=0.001, response="A", signals={"logprobs": logprobs(0.98)})
    sure = task.verify().verdicts[0]
    task = optimizer.start_task("unsure", category="easy")
    task.observe(task.route(), cost_usd=0.001, response="A", signals={"logprobs": logprobs(0.35)})
    unsure = task.verify()
    assert sure.p_correct is not None and unsure.verdicts[0].p_correct is not None
    assert sure.p_correct > 0.5 > unsure.verdicts[0].p_correct and unsure.rejected  # P < 0.5 escalates
    rows = {r["verifier"]: r for r in calibration_rows(any_store, folds=4, min_outcomes=12)}
    assert rows["entropy"]["labelled"] == 24 and rows["entropy"]["abstained"] >= 12
    refit = rows["entropy-refit"]
    assert refit["labelled"] == 24 and refit["auc"] > 0.7 and set(refit["coef"]) == {
        "mean_entropy", "entropy_std", "min_logprob", "logprob_std"}
    # a fresh process (another replica) starts calibrated from the shared store
    again = Optimizer(config, any_store, routers={"p": make_router()})
    assert isinstance(again.profile("p").verifiers[0], EntropyVerifier)
    assert again.profile("p").verifiers[0].calibrator_ is not None  # type: ignore[attr-defined]
    result = CliRunner().invoke(build_app(), ["evaluate-log", "--log", any_store.url, "--folds", "4"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "verifiers against the reported outcomes" in flat
    assert "entropy-refit: calibrator refitted on 24 labelled answers, out-of-fold AUC" in flat


def test_evaluate_log_without_verdicts_or_policy_says_so(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    Store.open(url).close()
    result = CliRunner().invoke(build_app(), ["evaluate-log", "--log", url])
    assert result.exit_code != 0 and "no verifier verdict is logged" in str(result.exception)
    half = CliRunner().invoke(build_app(), ["evaluate-log", "--log", url, "--policy", "gbdt"])
    assert half.exit_code != 0 and "--policy and --dataset go together" in str(half.exception)

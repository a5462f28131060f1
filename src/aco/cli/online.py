"""Online-loop commands: `aco bench --stream` (via `stream_bench`), `aco log-stream`, `aco evaluate-log`,
`aco ope-validate`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from aco.cli.options import DataDirOption, load_table, write_json
from aco.datasets.table import OutcomeTable
from aco.errors import AcoError
from aco.online.verifier import Verifier
from aco.policies.objective import Objective

ONLINE_DEFAULT = ("thompson", "orchestrator", "linucb")
OFFLINE_DEFAULT = ("best-single", "dimension-best", "oracle")
REFERENCE = "dimension-best"
JsonOption = Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here.")]
IntervalOption = Annotated[str, typer.Option(help="OPE bootstrap CI: studentized (bootstrap-t) or percentile.")]
CrossFitOption = Annotated[bool, typer.Option(
    help="Cross-fit DR's reward model (5 folds) and re-fit it in each bootstrap replicate (else in-sample, fixed).")]


def _split_specs(table: OutcomeTable, routers: str | None) -> tuple[list[str], list[str]]:
    from aco.routers.online import OnlineRouter
    from aco.routers.peers import peer_names
    from aco.routers.registry import available, make_router

    if routers:
        specs = [s.strip() for s in routers.split(",") if s.strip()]
    else:
        extra = ["gbdt"] if "gbdt" in available() else []
        specs = [*ONLINE_DEFAULT, *OFFLINE_DEFAULT, *extra, *(f"peer:{p}" for p in peer_names(table))]
    online = [s for s in specs if isinstance(make_router(s), OnlineRouter)]
    return online, [s for s in specs if s not in online]


def _print_rows(console: Console, title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(title=title)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    for key in keys:
        table.add_column(key, overflow="fold")
    for row in rows:
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in (row.get(k) for k in keys)])
    console.print(table)


def _check_interval(interval: str) -> None:
    from aco.evaluation.ope import INTERVALS

    if interval not in INTERVALS:
        raise AcoError(f"unknown --interval {interval!r}: use one of {', '.join(INTERVALS)}")


def verifier_factory(spec: str, folds: int, seed: int) -> Callable[[OutcomeTable], Verifier]:
    """`benchmark` (recorded score, evaluation only) or `posthoc:<signal>` (cross-fitted deploy-time estimate)."""
    from aco.online.verifier import BenchmarkVerifier, SignalVerifier

    kind, _, signal = spec.partition(":")
    if kind == "benchmark":
        return BenchmarkVerifier
    if kind == "posthoc" and signal:
        return lambda table: SignalVerifier.cross_fit(table, signal, folds, seed)
    raise AcoError(f"--verifier {spec!r}: use benchmark or posthoc:<observable signal> (e.g. posthoc:api_calls)")


def stream_bench(table: OutcomeTable, routers: str | None, order: str, seed: int, seeds: int, folds: int,
                 json_path: Path | None, report: Path | None, verifier: str = "benchmark",
                 objective: Objective | None = None) -> None:
    """`aco bench DATASET --stream`: stream tasks one at a time in one or several orders and compare."""
    from aco.evaluation.stream import run_stream
    from aco.report.stream_plots import write_stream_report

    console = Console()
    objective = objective or Objective.of_table(table)
    online, offline = _split_specs(table, routers)
    seed_list = list(range(seed, seed + seeds))  # dataset order: the seeds vary exploration and the CV folds
    make_verifier = verifier_factory(verifier, folds, seed)
    results = [run_stream(table, online, offline, order=order, seed=s, folds=folds, verifier_factory=make_verifier,
                          objective=objective) for s in seed_list]
    console.print(f"objective: {objective.describe()}")
    all_rows = [{"seed": r.seed, **row} for r in results for row in r.rows(REFERENCE)]
    for r in results:
        _print_rows(console, f"{table.name}: stream order {r.order_name}, seed {r.seed} (verifier: {verifier})",
                    r.rows(REFERENCE))
    if len(results) > 1:
        _print_rows(console, f"mean over {len(results)} seeds", _mean_rows(all_rows))
    if json_path is not None:
        curves = {f"{r.seed}/{run.label}": run.cumulative_regret[:: max(1, table.n_tasks // 200)].tolist()
                  for r in results for run in r.runs}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"dataset": table.name, "order": order, "rows": all_rows,
                                         "mean_rows": _mean_rows(all_rows),
                                         "objective": {"value_usd": objective.value_usd, "source": objective.source},
                                         "curves": curves}, indent=2, default=str))
        console.print(f"wrote {json_path}")
    if report is not None:
        write_stream_report(results, report, REFERENCE)
        console.print(f"wrote {report}")


def _mean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per router over the seeds: mean and sd of AvgPerf, success, cost and regret; for an online router, the
    seeds whose curve ends below the reference's (`crosses_<reference>`: how many of `seeds`)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    stats = frame.groupby("router", sort=False)[["avg_perf", "cost_usd", "regret"]].agg(["mean", "std"])
    crosses = f"crosses_{REFERENCE}"
    out = []
    for name, r in stats.iterrows():
        mine = frame[frame["router"] == name]
        row = {"router": name, "kind": str(mine["kind"].iloc[0]), "seeds": len(mine),
               "avg_perf": float(r[("avg_perf", "mean")]), "avg_perf_sd": float(r[("avg_perf", "std")]),
               "cost_usd": float(r[("cost_usd", "mean")]), "regret": float(r[("regret", "mean")]),
               "regret_sd": float(r[("regret", "std")])}
        if crosses in mine and row["kind"] == "online":
            row[f"{crosses}_seeds"] = int(mine[crosses].notna().sum())
        out.append(row)
    return out


def log_stream(
    dataset: Annotated[str, typer.Argument(help="Dataset name or outcomes file.")],
    log: Annotated[str, typer.Option(help="Store URL to write the decision log to (sqlite:///log.db).")],
    policy: Annotated[str, typer.Option(help="Online router that explores.")] = "thompson",
    epsilon: Annotated[float, typer.Option(help="Uniform exploration share mixed into the policy.")] = 0.3,
    order: Annotated[str, typer.Option(help="dataset or shuffle")] = "shuffle",
    seed: Annotated[int, typer.Option(help="Seed of the order and the policy.")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Stream a dataset through an exploring online policy, logging every decision and outcome to a store."""
    from aco.evaluation.stream import online_stream, stream_order
    from aco.online.memory_sql import StoreMemory
    from aco.routers.online import OnlineRouter
    from aco.routers.registry import make_router

    table = load_table(dataset, data_dir)
    router = make_router(policy, seed=seed, epsilon=epsilon)
    if not isinstance(router, OnlineRouter):
        raise AcoError(f"--policy {policy!r} is not an online router ({', '.join(ONLINE_DEFAULT)})")
    memory = StoreMemory.open(log, router.n_features)
    try:
        run = online_stream(router, table, stream_order(table.n_tasks, order, seed), memory=memory)
    finally:
        memory.close()
    typer.echo(f"logged {len(run.order)} decisions to {log}: AvgPerf {100 * run.score.mean():.2f}, "
               f"cost ${run.cost_usd.sum():.2f}, regret {run.regret.sum():.1f} (verifier: benchmark)")


def evaluate_log(
    log: Annotated[str, typer.Option(help="Store URL holding decisions with propensities and outcomes.")],
    policy: Annotated[str | None, typer.Option(
        help="Target router spec to evaluate off-policy (with --dataset; without both: verifiers only).")] = None,
    dataset: Annotated[str | None, typer.Option(help="Dataset of the logged tasks (fits the target, k-fold).")] = None,
    folds: Annotated[int, typer.Option(min=2)] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    interval: IntervalOption = "studentized",
    cross_fit: CrossFitOption = True,
    profile: Annotated[str | None, typer.Option(
        help="Only decisions of this profile (a proxy's store holds every profile's log).")] = None,
    json_path: JsonOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """IPS, SNIPS and DR estimates (95% bootstrap CIs) of a target policy's success and cost from a log: one written
    by `aco log-stream`, or a live proxy's own store (an outcome reported without its decision id belongs to the
    task's last decision); and the calibration of every verifier whose verdicts the log holds against the reported
    outcomes (the entropy calibrator refitted from them, scored out of fold)."""
    from aco.store import Store

    if (policy is None) != (dataset is None):
        raise AcoError("--policy and --dataset go together (without both, only the verifiers are evaluated)")
    _check_interval(interval)
    store = Store.open(log)
    try:
        verifier_rows = _verifier_rows(store, profile, folds, seed)
        payload: dict[str, Any] = {"log": log}
        if policy is not None and dataset is not None:
            payload |= _off_policy(store, log, policy, dataset, folds, seed, interval, cross_fit, profile, data_dir)
        elif not verifier_rows:
            raise AcoError(f"{log}: no verifier verdict is logged (and no --policy/--dataset to evaluate)")
    finally:
        store.close()
    console = Console()
    _print_rows(console, f"verifiers against the reported outcomes ({log})",
                [{k: v for k, v in row.items() if k != "coef"} for row in verifier_rows])
    for row in verifier_rows:
        if "coef" in row:
            console.print(f"{row['verifier']}: calibrator refitted on {row['labelled']} labelled answers, out-of-fold "
                          f"AUC {row['auc']:.3f}, Brier {row['brier']:.4f}, ECE {row['ece']:.4f}; coefficients "
                          f"(standardised) {row['coef']}", markup=False)
    if json_path is not None:
        write_json(json_path, payload | {"verifiers": verifier_rows})


def _verifier_rows(store: Any, profile: str | None, folds: int, seed: int) -> list[dict[str, Any]]:
    from aco.verifiers.calibration import calibration_rows

    return calibration_rows(store, profile=profile, folds=folds, seed=seed)


def _off_policy(store: Any, log: str, policy: str, dataset: str, folds: int, seed: int, interval: str,
                cross_fit: bool, profile: str | None, data_dir: Path | None) -> dict[str, Any]:
    from aco.evaluation.ope import Log, coverage_rows, evaluate_policy, target_actions
    from aco.routers.production import logged_outcomes

    table = load_table(dataset, data_dir)
    linked = [item for item in logged_outcomes(store) if item.decision is not None
              and (profile is None or item.decision.profile == profile)]
    decisions = {str(item.decision.decision_id): item.decision for item in linked if item.decision is not None}
    outcomes = [replace(item.outcome, decision_id=item.decision.decision_id) for item in linked
                if item.decision is not None]
    if not outcomes:
        where = f" of profile {profile!r}" if profile else ""
        raise AcoError(f"{log}: no outcome is linked to a logged decision{where}")
    position = {t: i for i, t in enumerate(table.task_ids)}
    missing = [o.task_id for o in outcomes if o.task_id not in position]
    if missing:
        raise AcoError(f"{log}: task {missing[0]!r} is not in {table.name}")
    rows = np.array([position[o.task_id] for o in outcomes])
    action = np.array([table.model_index(o.model) for o in outcomes])
    prop = np.array([decisions[str(o.decision_id)].propensity for o in outcomes])
    group = np.array([o.category for o in outcomes])
    score_log = Log(action, prop, np.array([o.score for o in outcomes]), group)
    cost_log = Log(action, prop, np.array([o.cost_usd for o in outcomes]), group)
    target = target_actions(table, policy, folds, seed)[rows]
    truth = {"score": float(table.score[rows, target].mean()), "cost_usd": float(table.cost_usd[rows, target].mean())}
    est = evaluate_policy(score_log, cost_log, target, table.n_models, seed=seed, interval=interval,
                          cross_fit=cross_fit)
    estimates = coverage_rows(est, truth)
    _print_rows(Console(), f"off-policy estimates of {policy} from {len(rows)} logged decisions "
                f"(truth = its replayed value on the same tasks)", estimates)
    return {"policy": policy, "dataset": table.name, "n_logged": len(rows), "interval": interval,
            "cross_fit": cross_fit, "rows": estimates}


def ope_validate(
    dataset: Annotated[str, typer.Argument(help="Dataset name or outcomes file.")],
    targets: Annotated[str, typer.Option(help="Comma-separated target policies.")] = "dimension-best,best-single",
    policy: Annotated[str, typer.Option(help="Exploring logging policy.")] = "thompson",
    epsilon: Annotated[float, typer.Option()] = 0.3,
    seeds: Annotated[int, typer.Option(min=1)] = 10,
    first_seed: Annotated[int, typer.Option(min=0, help="Seeds run are first_seed .. first_seed + seeds - 1.")] = 0,
    interval: IntervalOption = "studentized",
    cross_fit: CrossFitOption = True,
    json_path: JsonOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check OPE on a benchmark: per seed, log an exploring policy, estimate targets, compare with truth."""
    import pandas as pd

    from aco.evaluation.ope import validate

    _check_interval(interval)
    table = load_table(dataset, data_dir)
    specs = [s.strip() for s in targets.split(",") if s.strip()]
    rows = [r for s in range(first_seed, first_seed + seeds)
            for r in validate(table, specs, logging_spec=policy, epsilon=epsilon, seed=s, interval=interval,
                              cross_fit=cross_fit)]
    frame = pd.DataFrame(rows)
    frame["ci_width"] = frame["ci_high"] - frame["ci_low"]
    summary = frame.groupby(["target", "metric", "estimator"], sort=False).agg(
        mean_truth=("truth", "mean"), mean_estimate=("value", "mean"), mean_ci_width=("ci_width", "mean"),
        covered=("covered", "sum")).reset_index()
    summary["seeds"] = f"{first_seed}-{first_seed + seeds - 1}"
    dr_q = "cross-fitted, re-fitted per replicate" if cross_fit else "in-sample, fixed"
    _print_rows(Console(), f"{table.name}: OPE from a logged {policy} (epsilon {epsilon}) stream, {interval} CI, "
                f"DR q {dr_q}; covered = seeds whose 95% CI holds the true replayed value", summary.to_dict("records"))
    if json_path is not None:
        summary["row"] = summary["target"] + "/" + summary["metric"] + "/" + summary["estimator"]
        write_json(json_path, {"dataset": table.name, "policy": policy, "epsilon": epsilon, "interval": interval,
                               "cross_fit": cross_fit, "seeds": seeds, "first_seed": first_seed,
                               "rows": summary.to_dict("records"), "per_seed": rows})


def register(app: typer.Typer) -> None:
    app.command("log-stream")(log_stream)
    app.command("evaluate-log")(evaluate_log)
    app.command("ope-validate")(ope_validate)

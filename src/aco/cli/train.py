"""`aco train` (fit a router on outcome data into a versioned artifact) and `aco route` (decide for one task)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from aco.catalog import format_usd
from aco.cli.options import DataDirOption
from aco.errors import AcoError
from aco.settings import AcoSettings


def _router_params(router: str, target_success: float | None, lam: float | None) -> tuple[str, dict[str, Any]]:
    """The spec and parameters implied by --target-success (conformal policy) or --lambda (utility policy)."""
    if target_success is not None and lam is not None:
        raise AcoError("--target-success and --lambda are exclusive: choose one policy")
    if target_success is not None:
        if not 0.0 < target_success < 1.0:
            raise AcoError(f"--target-success must be in (0, 1), got {target_success}")
        return router.partition(":")[0] + ":conformal", {"target_success": target_success}
    if lam is not None:
        if lam < 0:
            raise AcoError(f"--lambda must be >= 0, got {lam}")
        return router.partition(":")[0] + ":utility", {"lam": lam}
    return router, {}


def _train_on_dask(dataset: str | None, outcomes: Path | None, scheduler: str | None, out: Path,
                   policy_given: bool) -> None:
    """`--engine dask`: the `aco scale-train` path on a partitioned Parquet folder, booster written to `out`."""
    from aco.cli.scale import run_scale_training

    if outcomes is None or not outcomes.is_dir():
        given = dataset if outcomes is None else str(outcomes)
        raise AcoError(f"--engine dask trains on a partitioned Parquet folder, not {given!r}: export it first "
                       f"with `aco scale-export {given} --out DIR`, then `aco train --outcomes DIR --engine dask`")
    if policy_given:
        raise AcoError("--engine dask fits the LightGBM P(success) model only: --router other than gbdt, "
                       "--target-success and --lambda need --engine local")
    run_scale_training(outcomes, engine="dask", scheduler=scheduler, workers=2, n_estimators=100, seed=0,
                       model_out=out)


def train(
    dataset: Annotated[str | None, typer.Argument(help="Dataset name (see `aco datasets list`).")] = None,
    outcomes: Annotated[Path | None, typer.Option(help="Your own outcomes CSV/JSONL instead.")] = None,
    router: Annotated[str, typer.Option(help="Router spec: gbdt, knn, category-stats, logreg, mf, hybrid, "
                                             "gbdt:utility, ...")] = "gbdt",
    target_success: Annotated[float | None, typer.Option(help="Conformal policy: certified success target.")] = None,
    lam: Annotated[float | None, typer.Option("--lambda", help="Utility policy: P - lambda x relative cost.")] = None,
    out: Annotated[Path, typer.Option(help="Artifact to write.")] = Path("router.aco"),
    data_dir: DataDirOption = None,
    engine: Annotated[str, typer.Option(help="local (fit a router here) or dask (LightGBM's Dask estimator on "
                                             "a Parquet folder from `aco scale-export`; writes a booster).")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="--engine dask: scheduler address "
                                                       "(default: a LocalCluster).")] = None,
) -> None:
    """Fit a router on ALL the given outcomes and save it as a versioned, pickle-free artifact."""
    from aco.artifacts import save_router
    from aco.datasets.registry import load_dataset
    from aco.routers.registry import make_router

    if (dataset is None) == (outcomes is None):
        raise AcoError("give exactly one of DATASET or --outcomes FILE")
    if engine == "dask":
        _train_on_dask(dataset, outcomes, scheduler, out,
                       router != "gbdt" or target_success is not None or lam is not None)
        return
    if engine != "local":
        raise AcoError(f"unknown engine {engine!r}; choose local or dask")
    if scheduler is not None:
        raise AcoError("--scheduler needs --engine dask")
    source = str(outcomes) if outcomes is not None else str(dataset)
    table = load_dataset(source, data_dir if data_dir is not None else AcoSettings().data_dir)
    spec, params = _router_params(router, target_success, lam)
    fitted = make_router(spec, **params).fit(table)
    metadata = save_router(fitted, table, out, dataset=source)
    console = Console()
    console.print(f"trained {spec} on {table.n_tasks} tasks x {table.n_models} models of {source}")
    console.print(f"policy: {json.dumps(metadata['policy'])}")
    console.print(f"wrote {out}")


def _decision(router: Any, metadata: dict[str, Any], text: str, category: str, source: str) -> dict[str, Any]:
    from aco.artifacts import model_specs
    from aco.datasets.table import TaskSet

    models = model_specs(metadata)
    tasks = pd.DataFrame({"text": [text], "category": [category], "source": [source], "group": [""]},
                         index=pd.Index(["request"], name="task_id"))
    routing = router.route(TaskSet(tasks=tasks, models=models))
    chosen = int(routing.model_idx[0])
    p = np.full(len(models), np.nan) if routing.p_success is None else np.asarray(routing.p_success)[0]
    cost = np.array([m["mean_cost_usd"] for m in metadata["models"]])
    if hasattr(router, "estimator_"):
        cost = router.estimator_.expected_cost_usd(router.features_.transform(tasks))[0]
    return {
        "model": models[chosen].name, "p_success": None if np.isnan(p[chosen]) else float(p[chosen]),
        "expected_cost_usd": float(cost[chosen]),
        "reason": routing.reasons[0] if routing.reasons else "",
        "candidates": [{"model": m.name, "tier": m.tier, "p_success": None if np.isnan(pj) else float(pj),
                        "expected_cost_usd": float(c)} for m, pj, c in zip(models, p, cost, strict=True)],
    }


def route(
    text: Annotated[str, typer.Argument(help="The task text.")],
    router: Annotated[Path, typer.Option(help="Artifact written by `aco train`.")] = Path("router.aco"),
    category: Annotated[str, typer.Option(help="Task category.")] = "",
    source: Annotated[str, typer.Option(help="Task source (benchmark, repository, ...).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Decide for one task with a saved router: the model, P(success) per model, expected cost and the reason."""
    from aco.artifacts import load_router

    fitted, metadata = load_router(router)
    decision = _decision(fitted, metadata, text, category, source)
    if as_json:
        typer.echo(json.dumps(decision, indent=2))
        return
    console = Console()
    p_success = "-" if decision["p_success"] is None else f"{decision['p_success']:.3f}"
    console.print(f"[bold]{decision['model']}[/]  P(success)={p_success}  "
                  f"expected cost ${format_usd(decision['expected_cost_usd'])}", markup=True)
    console.print(f"reason: {decision['reason']}", markup=False)
    table = Table("model", "tier", "P(success)", "expected cost (USD)")
    for row in sorted(decision["candidates"], key=lambda r: r["expected_cost_usd"]):
        p = "-" if row["p_success"] is None else f"{row['p_success']:.3f}"
        table.add_row(row["model"], str(row["tier"]), p, format_usd(row["expected_cost_usd"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("route")(route)

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
    router: Annotated[str, typer.Option(help="Any registered router spec: gbdt, knn, category-stats, logreg, mf, "
                                             "hybrid, gbdt:utility, cascade, category-beta, thompson, "
                                             "orchestrator:gbdt, value-head, ... (see `aco bench`)")] = "gbdt",
    target_success: Annotated[float | None, typer.Option(help="Conformal policy: certified success target.")] = None,
    lam: Annotated[float | None, typer.Option("--lambda", help="Utility policy: P - lambda x relative cost.")] = None,
    out: Annotated[Path, typer.Option(help="Artifact to write.")] = Path("router.aco"),
    holdout: Annotated[str | None, typer.Option(help="Fit only on the training part of a held-out split: split "
                                                     "(the table's split column), fold:K (fold K of 5, seed 0) or "
                                                     "auto; `aco replay-live --holdout` checks it on the rest.")]
    = None,
    from_store: Annotated[str | None, typer.Option(
        "--from-store", help="Learn from a proxy's decision log instead (store URL: sqlite:///aco.db or "
                             "postgresql+psycopg://...): routers that learn online only.")] = None,
    data_dir: DataDirOption = None,
    engine: Annotated[str, typer.Option(help="local (fit a router here) or dask (LightGBM's Dask estimator on "
                                             "a Parquet folder from `aco scale-export`; writes a booster).")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="--engine dask: scheduler address "
                                                       "(default: a LocalCluster).")] = None,
) -> None:
    """Fit a router on the given outcomes (ALL of them unless --holdout) and save it as a versioned, pickle-free
    artifact that `aco serve` serves exactly (`router = "x.aco"` in a profile)."""
    from aco.artifacts import save_router
    from aco.datasets.registry import load_dataset
    from aco.routers.registry import make_router

    if from_store is not None:
        _train_from_store(router, from_store, out, dataset is not None or outcomes is not None or holdout is not None)
        return
    if (dataset is None) == (outcomes is None):
        raise AcoError("give exactly one of DATASET, --outcomes FILE or --from-store URL")
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
    if holdout is not None:
        table = table.subset(_holdout(table, holdout).train)
    spec, params = _router_params(router, target_success, lam)
    fitted = make_router(spec, **params).fit(table)
    metadata = save_router(fitted, table, out, dataset=source)
    console = Console()
    part = f" (training part of holdout {holdout})" if holdout is not None else ""
    console.print(f"trained {spec} on {table.n_tasks} tasks x {table.n_models} models of {source}{part}")
    console.print(f"policy: {json.dumps(metadata['policy'], default=str)}")
    console.print(f"wrote {out}")


def _holdout(table: Any, spec: str) -> Any:
    from aco.evaluation.protocol import holdout_split

    column = table.tasks["split"].to_numpy() if "split" in table.tasks.columns else None
    try:
        return holdout_split(column, table.n_tasks, spec)
    except ValueError as exc:
        raise AcoError(f"--holdout: {exc}") from None


def _train_from_store(router: str, url: str, out: Path, data_given: bool) -> None:
    from aco.artifacts import save_router
    from aco.routers.production import learn_from_store, logged_outcomes
    from aco.store import Store

    if data_given:
        raise AcoError("--from-store learns from the store's log: give no DATASET, --outcomes or --holdout")
    store = Store.open(url)
    try:
        fitted = learn_from_store(router, store)
        n_outcomes = len(logged_outcomes(store))
    finally:
        store.close()
    from aco.datasets.table import OutcomeTable

    empty = OutcomeTable(name=f"log {url}", tasks=pd.DataFrame({"category": []}, index=pd.Index([], dtype=str)),
                         models=fitted.model_specs_, score=np.zeros((0, len(fitted.models_))),
                         cost_usd=np.zeros((0, len(fitted.models_))))
    save_router(fitted, empty, out, dataset=f"decision log {url} ({n_outcomes} outcomes)")
    Console().print(f"trained {router} on {n_outcomes} logged outcomes of {url} over {list(fitted.models_)}")
    Console().print(f"wrote {out}")


def _decision(router: Any, metadata: dict[str, Any], text: str, category: str, source: str) -> dict[str, Any]:
    """One `Router.decide` for the task, with P(success) and the training mean cost per candidate."""
    from aco.artifacts import model_specs
    from aco.routers.decision import TaskContext

    decision = router.decide(TaskContext(text=text, category=category, source=source))
    models = model_specs(metadata)
    cost = {m["name"]: float(m["mean_cost_usd"]) for m in metadata["models"]}
    p = decision.p_success_by_model
    return {
        "model": decision.model, "p_success": decision.p_success, "action": decision.action,
        "expected_cost_usd": cost[decision.model], "reason": decision.reason, "propensity": decision.propensity,
        "candidates": [{"model": m.name, "tier": m.tier, "p_success": p.get(m.name),
                        "expected_cost_usd": cost[m.name]} for m in models],
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

"""`aco scale-export` (an outcome table as partitioned Parquet) and `aco scale-train` (LightGBM, local or Dask)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aco.cli.options import DataDirOption
from aco.errors import ConfigError
from aco.settings import AcoSettings


def scale_export(
    dataset: Annotated[str, typer.Argument(help="Dataset name or outcomes file.")],
    out: Annotated[Path, typer.Option(help="Folder for part-*.parquet (created).")],
    resample_tasks: Annotated[int | None, typer.Option(help="Draw this many tasks with replacement "
                                                            "(resampled real data, for scale tests).")] = None,
    rows_per_partition: Annotated[int, typer.Option(min=1, help="(task, model) rows per Parquet file.")] = 250_000,
    seed: Annotated[int, typer.Option(help="Seed of the resampling.")] = 0,
    data_dir: DataDirOption = None,
) -> None:
    """Write a dataset's (task, model) rows with decision-time features as partitioned Parquet."""
    from aco.datasets.registry import load_dataset
    from aco.engines.outcomes import long_features, resample_table, write_parquet

    table = load_dataset(dataset, data_dir if data_dir is not None else AcoSettings().data_dir)
    if resample_tasks is not None:
        table = resample_table(table, resample_tasks, seed)
        typer.echo(f"RESAMPLED real data (not new data): {resample_tasks} tasks drawn from {dataset}")
    files = write_parquet(long_features(table), out, rows_per_partition)
    typer.echo(f"wrote {table.n_tasks * table.n_models} rows ({table.n_tasks} tasks x {table.n_models} models) "
               f"in {len(files)} partitions under {out}")


def scale_train(
    outcomes: Annotated[Path, typer.Option(help="Folder of part-*.parquet from `aco scale-export`.")],
    engine: Annotated[str, typer.Option(help="local (one node) or dask (LightGBM's Dask estimator).")] = "dask",
    scheduler: Annotated[str | None, typer.Option(help="--engine dask: scheduler address "
                                                       "(default: a LocalCluster).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="LocalCluster workers when no --scheduler.")] = 2,
    n_estimators: Annotated[int, typer.Option(min=1, help="Boosting rounds.")] = 100,
    seed: Annotated[int, typer.Option(help="LightGBM random_state.")] = 0,
    model_out: Annotated[Path | None, typer.Option(help="Save the booster (LightGBM text format) here.")] = None,
) -> None:
    """Train a P(success) LightGBM model on a partitioned Parquet outcome table."""
    run_scale_training(outcomes, engine=engine, scheduler=scheduler, workers=workers, n_estimators=n_estimators,
                       seed=seed, model_out=model_out)


def run_scale_training(outcomes: Path, *, engine: str, scheduler: str | None, workers: int, n_estimators: int,
                       seed: int, model_out: Path | None) -> None:
    """The `scale-train` path (also `aco train --engine dask`): fit, report, and save the booster if asked."""
    from aco.engines.dask import train_lightgbm_dask, train_lightgbm_local

    if engine == "dask":
        report = train_lightgbm_dask(outcomes, scheduler=scheduler, n_workers=workers, n_estimators=n_estimators,
                                     seed=seed)
    elif engine == "local":
        if scheduler is not None:
            raise ConfigError("--scheduler needs --engine dask")
        report = train_lightgbm_local(outcomes, n_estimators=n_estimators, seed=seed)
    else:
        raise ConfigError(f"unknown engine {engine!r}; choose local or dask")
    typer.echo(f"engine={report.engine} rows={report.n_rows} partitions={report.n_partitions} "
               f"train_seconds={report.train_seconds:.2f}")
    if model_out is not None:
        model_out.parent.mkdir(parents=True, exist_ok=True)
        report.model.booster_.save_model(str(model_out))
        typer.echo(f"wrote {model_out} (LightGBM booster, text format: a P(success) model over the "
                   f"scale-export feature columns, not a router artifact for `aco route`)")


def register(app: typer.Typer) -> None:
    app.command("scale-export")(scale_export)
    app.command("scale-train")(scale_train)

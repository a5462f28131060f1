"""`aco serve` (the routing proxy) and `aco replay-upstream` (real RouterBench responses), both on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aco.cli.options import DataDirOption
from aco.errors import ConfigError
from aco.settings import AcoSettings

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]


def serve(config: Annotated[Path | None, typer.Option(help="TOML config (default: $ACO_CONFIG).")] = None,
          host: HostOption = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          store_url: Annotated[str | None, typer.Option(help="Store URL (default: $ACO_STORE_URL, else the "
                                                              "config's server.store_url).")] = None,
          log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning") -> None:
    """Run the routing proxy (OpenAI chat completions and Responses, Anthropic Messages)."""
    import uvicorn

    from aco.config import load_config
    from aco.server.app import create_app
    from aco.store import Store

    settings = AcoSettings()
    path = config or settings.config
    if path is None:
        raise ConfigError("no config: pass --config PATH or set ACO_CONFIG")
    cfg = load_config(path)
    store = Store.open(store_url or settings.store_url or cfg.server.store_url)
    app = create_app(cfg, store=store)
    typer.echo(f"aco proxy on http://{host}:{port} (profiles: {', '.join(cfg.profiles)}; store: {store.url})")
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        store.close()


def replay_upstream(port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
                    host: HostOption = "127.0.0.1", data_dir: DataDirOption = None,
                    chunk_delay_ms: Annotated[float, typer.Option(help="Delay before each streamed chunk.")] = 0.0,
                    trajectories: Annotated[str | None, typer.Option(
                        help="Also serve a SWE-bench pair's recorded runs for replay-live (lm32b-sonnet).")]
                    = None,
                    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning") -> None:
    """Serve recorded responses (RouterBench prompts, SWE-bench agent turns) as an offline upstream speaking
    OpenAI chat completions and Anthropic Messages; with --trajectories also a SWE-bench pair's recorded runs for
    `aco replay-live` (`aco.server.replay_pairs`)."""
    import uvicorn

    from aco.datasets.location import resolve_data_dir
    from aco.server.replay_pairs import PairBook
    from aco.server.replay_trajectories import TrajectoryBook
    from aco.server.replay_upstream import ReplayBook, create_replay_app
    from aco.trajectories.pairs import load_pair_table

    folder = resolve_data_dir(data_dir if data_dir is not None else AcoSettings().data_dir)
    book = ReplayBook.from_data_dir(folder)
    runs = TrajectoryBook.from_data_dir(folder)
    pairs = PairBook(load_pair_table(folder, trajectories)) if trajectories else None
    extra = f"; the {trajectories} pair's {len(pairs)} recorded tasks" if pairs is not None else ""
    typer.echo(f"replay upstream on http://{host}:{port}/v1 ({len(book)} recorded prompts x "
               f"{len(book.models)} models from {folder / 'routerbench'}; {len(runs)} recorded agent runs "
               f"of {', '.join(runs.models) or 'no trajectory model'}{extra})")
    app = create_replay_app(book, trajectories=runs, chunk_delay_ms=chunk_delay_ms, pairs=pairs)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("replay-upstream")(replay_upstream)

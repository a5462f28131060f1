"""Typed settings (prefix `ACO_`), read only at the edge (the CLI, the server factory) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class AcoSettings(BaseSettings):
    """Environment settings: `ACO_DATA_DIR`, ... (see docs/guides/proxy.md)."""

    model_config = SettingsConfigDict(env_prefix="ACO_", extra="ignore")

    data_dir: Path | None = None
    config: Path | None = None  # ACO_CONFIG: the live-routing TOML (aco serve)
    store_url: str | None = None  # ACO_STORE_URL: overrides the config's server.store_url

"""The live-routing TOML config: models and prices, upstream endpoints, profiles, server limits.

API keys are never in the file: an upstream names the environment variable that holds its key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aco.catalog import Catalog, PricedModel
from aco.errors import ConfigError
from aco.records import ModelSpec

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(BaseModel):
    """One model: prices (USD per million tokens and/or per call), tier and the upstream serving it."""

    model_config = _STRICT
    name: str = Field(min_length=1)
    upstream: str = Field(min_length=1)
    provider: str = ""
    usd_per_mtok_input: float = Field(default=0.0, ge=0)
    usd_per_mtok_output: float = Field(default=0.0, ge=0)
    usd_per_call: float = Field(default=0.0, ge=0)
    usd_per_mtok_cached_input: float | None = Field(default=None, ge=0)  # prompt-cache reads (None: input price)
    usd_per_mtok_cache_write: float | None = Field(default=None, ge=0)  # prompt-cache writes (None: input price)
    typical_input_tokens: int = Field(default=0, ge=0)
    typical_output_tokens: int = Field(default=0, ge=0)
    tier: int = Field(default=0, ge=0)
    upstream_model: str = ""  # the name the upstream knows the model by (default: name)
    aliases: list[str] = Field(default_factory=list)  # other names of this model in outcome tables (transfer)

    def priced(self) -> PricedModel:
        spec = ModelSpec(name=self.name, provider=self.provider, usd_per_mtok_input=self.usd_per_mtok_input,
                         usd_per_mtok_output=self.usd_per_mtok_output, tier=self.tier)
        return PricedModel(spec, self.usd_per_call, self.upstream, self.typical_input_tokens,
                           self.typical_output_tokens, self.usd_per_mtok_cached_input, self.usd_per_mtok_cache_write)


class UpstreamConfig(BaseModel):
    """An endpoint speaking the OpenAI chat completions API (OpenAI, DeepSeek, Gemini's OpenAI endpoint, OpenRouter,
    vLLM, Ollama, a LiteLLM proxy) or Anthropic's Messages API; its key is read from the environment variable
    `api_key_env` and sent in `auth_header` (default: `authorization: Bearer <key>` for OpenAI-compatible
    upstreams, `x-api-key: <key>` for Anthropic)."""

    model_config = _STRICT
    name: str = Field(min_length=1)
    base_url: str = Field(pattern=r"^https?://")
    api: Literal["openai", "anthropic"] = "openai"
    api_key_env: str = ""
    auth_header: str = ""
    anthropic_version: str = "2023-06-01"  # the `anthropic-version` header sent to an Anthropic upstream
    cache_control: bool | None = None  # takes `cache_control` markers (default: only Anthropic does)
    timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=1, ge=0, le=10)
    backoff_s: float = Field(default=0.1, ge=0)

    def api_key(self) -> str | None:
        """The key from the environment (never stored on the config, never logged)."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a call (empty without a key) plus the API's version header."""
        headers = {"anthropic-version": self.anthropic_version} if self.api == "anthropic" else {}
        key = self.api_key()
        if key:
            name = (self.auth_header or ("x-api-key" if self.api == "anthropic" else "authorization")).lower()
            headers[name] = f"Bearer {key}" if name == "authorization" else key
        return headers

    @property
    def takes_cache_control(self) -> bool:
        return self.api == "anthropic" if self.cache_control is None else self.cache_control


class VerifierConfig(BaseModel):
    """One verifier of a profile (`[[profiles.<name>.verifiers]]`): its registered `name` and the parameters it
    takes (checked against the verifier when the profile loads); P(correct) below `threshold` escalates."""

    model_config = _STRICT
    name: str = Field(min_length=1)
    threshold: float | None = Field(default=None, ge=0, le=1)
    model: str | None = None  # judge: the model that grades
    models: list[str] | None = None  # agreement: one more answer from each
    samples: int | None = Field(default=None, ge=1, le=16)  # agreement: answers of the candidate's own model
    kind: Literal["auto", "choice", "code", "text"] | None = None  # agreement: how answers are compared
    min_chars: int | None = Field(default=None, ge=0)  # length
    min_outcomes: int | None = Field(default=None, ge=2)  # entropy: labelled answers before it calibrates
    refit_every: int | None = Field(default=None, ge=1)  # entropy: refit after this many new outcomes
    max_tokens: int | None = Field(default=None, ge=1)  # judge, agreement: of their calls

    def params(self) -> dict[str, object]:
        """The parameters given in the file (the verifier's defaults stand for the others)."""
        return {k: v for k, v in self.model_dump(exclude={"name"}).items() if v is not None}

    def called_models(self) -> list[str]:
        return ([self.model] if self.model else []) + list(self.models or [])


class ProfileConfig(BaseModel):
    """A routing profile: candidates (cheap to strong: also the fallback chain), estimator prior, policy."""

    model_config = _STRICT
    candidates: Annotated[list[str], Field(min_length=1)]
    datasets: list[str] = Field(default_factory=list)  # outcome data the P(success) prior is learned from
    threshold: float = Field(default=0.7, ge=0, le=1)
    prior_weight: float = Field(default=2.0, gt=0)
    floors: dict[str, int] = Field(default_factory=dict)  # category -> minimum tier
    default_budget_usd: float | None = Field(default=None, ge=0)
    verify_min_chars: int = Field(default=0, ge=0)  # a shorter answer is rejected and escalated
    sticky: bool = True
    router: str = ""  # a `router.aco` artifact served exactly as benchmarked (any registered router)
    prior: str = ""  # a `router.aco` artifact whose P(success) per task is the prior of the rule above
    step_routing: bool = False  # per-step rule: cheap for search/read/plan/test/verify, routed model for edits
    protected_paths: list[str] = Field(default_factory=list)  # only edits naming these go strong (empty: all)
    step_sticky_turns: int = Field(default=2, ge=0)  # keep the routed model this many turns after an edit
    verifiers: list[VerifierConfig] = Field(default_factory=list)  # checked after each (non-streamed) answer


class ServerConfig(BaseModel):
    """Proxy limits and where its state lives."""

    model_config = _STRICT
    store_url: str = "sqlite:///aco.db"
    api_key_env: str = "ACO_API_KEY"
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    stats_refresh_s: float = Field(default=5.0, ge=0)
    # the longest a call may last (a stream is cut after it); a reservation still open after it plus the longest
    # upstream timeout belongs to a process that died, and is expired (at startup and every `expire_every_s`)
    max_call_s: float = Field(default=600.0, gt=0)
    expire_every_s: float = Field(default=60.0, gt=0)


class AcoConfig(BaseModel):
    """The whole config file."""

    model_config = _STRICT
    server: ServerConfig = Field(default_factory=ServerConfig)
    upstreams: list[UpstreamConfig]
    models: list[ModelConfig]
    profiles: dict[str, ProfileConfig]

    @model_validator(mode="after")
    def _check_references(self) -> AcoConfig:
        upstreams = {u.name for u in self.upstreams}
        models = {m.name for m in self.models}
        for m in self.models:
            if m.upstream not in upstreams:
                raise ValueError(f"model {m.name!r} names unknown upstream {m.upstream!r}; known: {sorted(upstreams)}")
        for name, profile in self.profiles.items():
            unknown = [c for c in profile.candidates if c not in models]
            if unknown:
                raise ValueError(f"profile {name!r} lists unknown models {unknown}")
            for verifier in profile.verifiers:
                unknown = [m for m in verifier.called_models() if m not in models]
                if unknown:
                    raise ValueError(f"profile {name!r}: verifier {verifier.name!r} calls unknown models {unknown}")
        return self

    def reservation_ttl_s(self) -> float:
        """Age after which an open reservation can only belong to a dead process (safe with several replicas)."""
        return self.server.max_call_s + max((u.timeout_s for u in self.upstreams), default=0.0)

    def catalog(self) -> Catalog:
        return Catalog(m.priced() for m in self.models)

    def upstream(self, name: str) -> UpstreamConfig:
        for u in self.upstreams:
            if u.name == name:
                return u
        raise ConfigError(f"unknown upstream {name!r}")


def load_config(path: Path | str) -> AcoConfig:
    """Read and validate a TOML config; errors name the file and the field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        config = AcoConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    return _resolve_routers(config, path.parent)


def _resolve_routers(config: AcoConfig, folder: Path) -> AcoConfig:
    """Profile `router` and `prior` paths made absolute, relative ones against the config file's folder."""
    def resolved(path: str) -> str:
        return str(folder / Path(path).expanduser()) if path and not Path(path).expanduser().is_absolute() else path

    profiles = {name: p.model_copy(update={k: resolved(getattr(p, k)) for k in ("router", "prior") if getattr(p, k)})
                for name, p in config.profiles.items()}
    return config.model_copy(update={"profiles": profiles})

"""Latency the aco proxy adds over calling the replay upstream directly and over its own pass-through, side by
side with LiteLLM's proxy.

Everything runs on loopback in one process tree: `aco replay-upstream`, `aco serve` and, when
`benchmarks/setup_litellm_venv.sh` has created its venv, `litellm --config ...` pointed at the same replay upstream.
The served config is examples/aco.toml plus a profile `served` whose `router` is a gbdt artifact trained here on the
routerbench-arc train split (its candidates: the artifact's 11 models). The same RouterBench ARC test prompts go
sequentially (keep-alive httpx client) to each endpoint: routed through `aco/default` (category-beta) and through
`aco/served` (every request a new task, so a first decision with the gbdt artifact: featurise, predict, policy),
passed through, and direct. Added latency = percentile(endpoint) - percentile(direct or pass-through). The
decisions are also timed in-process (`Router.decide`, and the SDK's first decision including its store write).

Two measurements: (1) OpenAI chat completions, whole-response latency; (2) Anthropic `/v1/messages` streaming,
time to first byte of the stream (what Claude Code waits for), with a second `aco serve` whose upstream speaks
Anthropic's API (the replay upstream's `/v1/messages`), so aco translates Messages -> canonical -> Messages both
ways, and LiteLLM's `/v1/messages` on the same upstream.

    .venv/bin/python benchmarks/bench_proxy_latency.py [--requests 300] [--litellm-venv /tmp/litellm-venv]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from aco.datasets.location import resolve_data_dir
from aco.datasets.routerbench import unwrap_prompt
from aco.server.launch import free_port, start, stop, write_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "aco.toml"
MODEL = "gpt-3.5-turbo-1106"  # what direct and LiteLLM calls ask for (aco routes by itself)
CATEGORY = "arc-challenge"


def _prompts(data_dir: Path, n: int) -> list[str]:
    frame = pd.read_csv(data_dir / "routerbench" / "arc_challenge_test.csv", nrows=n)
    return [unwrap_prompt(p) for p in frame["prompt"]]


def _timed(url: str, model: str, prompts: list[str], headers: dict[str, str], warmup: int) -> np.ndarray:
    out = []
    with httpx.Client(timeout=30) as client:
        for i, text in enumerate(prompts[:warmup] + prompts):
            body = {"model": model, "messages": [{"role": "user", "content": text}]}
            start_s = time.perf_counter()
            reply = client.post(url, json=body, headers=headers)
            elapsed_ms = (time.perf_counter() - start_s) * 1000
            if reply.status_code != 200:
                raise RuntimeError(f"{url} {model}: HTTP {reply.status_code} {reply.text[:300]}")
            if i >= warmup:
                out.append(elapsed_ms)
    return np.asarray(out)


def _first_byte_ms(url: str, model: str, prompts: list[str], headers: dict[str, str], warmup: int) -> np.ndarray:
    """Time to the first byte of a streamed `/v1/messages` reply (the stream is then read to its end)."""
    out = []
    with httpx.Client(timeout=30) as client:
        for i, text in enumerate(prompts[:warmup] + prompts):
            body = {"model": model, "max_tokens": 512, "stream": True,
                    "messages": [{"role": "user", "content": text}]}
            start_s = time.perf_counter()
            with client.stream("POST", url, json=body, headers={"anthropic-version": "2023-06-01",
                                                                  **headers}) as reply:
                if reply.status_code != 200:
                    raise RuntimeError(f"{url} {model}: HTTP {reply.status_code} {reply.read()[:300]!r}")
                chunks = reply.iter_raw()
                next(chunks)
                elapsed_ms = (time.perf_counter() - start_s) * 1000
                for _ in chunks:
                    pass
            if i >= warmup:
                out.append(elapsed_ms)
    return np.asarray(out)


def _anthropic_config(example: Path, path: Path) -> Path:
    """The example config with its replay upstream spoken to in Anthropic's Messages API."""
    text = example.read_text(encoding="utf-8").replace('name = "replay"\n', 'name = "replay"\napi = "anthropic"\n', 1)
    path.write_text(text, encoding="utf-8")
    return path


def _start_litellm(venv: Path, upstream_port: int, tmp: Path,
                   master_key: str) -> tuple[subprocess.Popen[bytes], int] | None:
    exe = venv / "bin" / "litellm"
    if not exe.is_file():
        return None
    config = tmp / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{upstream_port}/v1\n"
        "      api_key: unused\n"
        f"  - model_name: anthropic-{MODEL}\n"
        "    litellm_params:\n"
        f"      model: anthropic/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{upstream_port}\n"
        "      api_key: unused\n"
        "litellm_settings:\n  telemetry: false\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "LITELLM_MASTER_KEY": master_key}
    proc = subprocess.Popen([str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                             "--num_workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/liveliness", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("LiteLLM proxy did not start in 180 s")


def _train_artifact(data_dir: Path, path: Path) -> list[str]:
    """gbdt fitted on the routerbench-arc train split, saved to `path`; returns its models."""
    from aco.artifacts import save_router
    from aco.datasets.registry import load_dataset
    from aco.routers.registry import make_router

    table = load_dataset("routerbench-arc", data_dir)
    train = table.subset(np.flatnonzero((table.tasks["split"] != "test").to_numpy()))
    router = make_router("gbdt").fit(train)
    save_router(router, train, path)
    return list(router.models_)


def _with_served_profile(config: Path, artifact: Path, models: list[str]) -> None:
    names = ", ".join(f'"{m}"' for m in models)
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[profiles.served]\ncandidates = [{names}]\nrouter = "{artifact}"\n')


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def _decision_timing(config_path: Path, prompts: list[str]) -> dict[str, tuple[float, float]]:
    """p50/p99 (ms) of `Router.decide` for both profiles and of the SDK's first decision (with its store write).

    The two loops take disjoint halves of the prompts: a text's hashed n-grams are kept per process, so a prompt
    already featurised once would time a later first decision too fast."""
    from aco.routers.decision import TaskContext
    from aco.sdk import Optimizer

    opt = Optimizer.from_config(config_path)
    out: dict[str, tuple[float, float]] = {}
    for profile in ("default", "served"):
        router = opt.profile(profile).router
        samples = []
        for text in prompts[::2]:
            context = TaskContext(text=text, category=CATEGORY, source="routerbench")
            t = time.perf_counter()
            router.decide(context)
            samples.append((time.perf_counter() - t) * 1000)
        out[f"Router.decide, {profile} ({router.name})"] = _percentiles(samples)
        samples = []
        for i, text in enumerate(prompts[1::2]):
            task = opt.start_task(text, category=CATEGORY, task_id=f"bench-{profile}-{i}", profile=profile,
                                  source="routerbench")
            t = time.perf_counter()
            task.route()
            samples.append((time.perf_counter() - t) * 1000)
        out[f"SDK first decision incl. SQLite write, {profile} ({router.name})"] = _percentiles(samples)
    opt.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--litellm-venv", type=Path, default=Path("/tmp/litellm-venv"))
    args = parser.parse_args()
    data_dir = resolve_data_dir()
    prompts = _prompts(data_dir, args.requests)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {"ACO_DATA_DIR": str(data_dir)}
        up_port, aco_port, aco_msg_port = free_port(), free_port(), free_port()
        models = _train_artifact(data_dir, tmp / "gbdt-arc.aco")
        procs = [start(["replay-upstream", "--port", str(up_port)], env, f"http://127.0.0.1:{up_port}/healthz")]
        try:
            config = write_config(EXAMPLE, tmp / "aco.toml", up_port, f"sqlite:///{tmp / 'aco.db'}")
            _with_served_profile(config, tmp / "gbdt-arc.aco", models)
            procs.append(start(["serve", "--config", str(config), "--port", str(aco_port)], env,
                               f"http://127.0.0.1:{aco_port}/healthz"))
            msg_config = _anthropic_config(config, tmp / "aco-anthropic.toml")
            msg_config.write_text(msg_config.read_text(encoding="utf-8").replace("aco.db", "aco-msg.db"),
                                  encoding="utf-8")
            procs.append(start(["serve", "--config", str(msg_config), "--port", str(aco_msg_port)], env,
                               f"http://127.0.0.1:{aco_msg_port}/healthz"))
            master_key = f"sk-bench-{secrets.token_hex(16)}"
            litellm = _start_litellm(args.litellm_venv, up_port, tmp, master_key)
            if litellm is not None:
                procs.append(litellm[0])
            lite_auth = {"authorization": f"Bearer {master_key}"}
            proxy = f"http://127.0.0.1:{aco_port}/v1/chat/completions"
            labels = {"x-aco-category": CATEGORY, "x-aco-source": "routerbench"}
            timings = {
                "replay upstream direct": _timed(f"http://127.0.0.1:{up_port}/v1/chat/completions", MODEL, prompts,
                                                 {}, args.warmup),
                "aco pass-through": _timed(proxy, MODEL, prompts, {}, args.warmup),
                "aco routed aco/default (category-beta)": _timed(proxy, "aco/default", prompts, labels, args.warmup),
                "aco routed aco/served (gbdt artifact)": _timed(proxy, "aco/served", prompts, labels, args.warmup),
            }
            if litellm is not None:
                timings["LiteLLM proxy"] = _timed(f"http://127.0.0.1:{litellm[1]}/v1/chat/completions", MODEL,
                                                  prompts, lite_auth, args.warmup)
            messages = {
                "replay upstream direct": _first_byte_ms(f"http://127.0.0.1:{up_port}/v1/messages", MODEL, prompts,
                                                         {}, args.warmup),
                "aco aco/default (routed)": _first_byte_ms(f"http://127.0.0.1:{aco_msg_port}/v1/messages",
                                                           "aco/default", prompts, {"x-aco-category": CATEGORY},
                                                           args.warmup),
                "aco pass-through": _first_byte_ms(f"http://127.0.0.1:{aco_msg_port}/v1/messages", MODEL, prompts,
                                                   {}, args.warmup)}
            if litellm is not None:
                messages["LiteLLM proxy"] = _first_byte_ms(f"http://127.0.0.1:{litellm[1]}/v1/messages",
                                                           f"anthropic-{MODEL}", prompts, lite_auth, args.warmup)
            decision = _decision_timing(config, prompts)
        finally:
            for proc in reversed(procs):
                stop(proc)
    _report(args.requests, timings, decision)
    _report_messages(args.requests, messages)


def _report_messages(n: int, rows: dict[str, np.ndarray]) -> None:
    direct = rows["replay upstream direct"]
    d50, d99 = np.percentile(direct, 50), np.percentile(direct, 99)
    print(f"\n/v1/messages streaming, time to first byte, {n} sequential requests per endpoint, loopback, ms")
    print(f"{'endpoint':34s} {'p50':>8s} {'p99':>8s} {'added p50':>10s} {'added p99':>10s}")
    for name, values in rows.items():
        p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
        print(f"{name:34s} {p50:8.2f} {p99:8.2f} {p50 - d50:10.2f} {p99 - d99:10.2f}")
    if "LiteLLM proxy" not in rows:
        print("LiteLLM: not measured (run benchmarks/setup_litellm_venv.sh first)")


def _report(n: int, timings: dict[str, np.ndarray], decision: dict[str, tuple[float, float]]) -> None:
    direct, through = timings["replay upstream direct"], timings["aco pass-through"]
    print(f"{n} sequential requests per endpoint, loopback, ms (added = endpoint percentile - reference percentile)")
    print(f"{'endpoint':42s} {'p50':>7s} {'p99':>7s} {'+direct p50':>12s} {'+direct p99':>12s} {'+pass p50':>10s}")
    for name, values in timings.items():
        p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
        over = p50 - np.percentile(through, 50)
        print(f"{name:42s} {p50:7.2f} {p99:7.2f} {p50 - np.percentile(direct, 50):12.2f} "
              f"{p99 - np.percentile(direct, 99):12.2f} {over:10.2f}")
    lite = timings.get("LiteLLM proxy")
    if lite is None:
        print("LiteLLM: not measured (run benchmarks/setup_litellm_venv.sh first)")
    else:
        routed = timings["aco routed aco/default (category-beta)"]
        ratio = (np.percentile(routed, 50) - np.percentile(direct, 50)) / max(
            np.percentile(lite, 50) - np.percentile(direct, 50), 1e-9)
        print(f"aco routed added / LiteLLM added, p50: {ratio:.2f}")
    for name, (p50, p99) in decision.items():
        print(f"{name}: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    print(f"mean direct {statistics.fmean(direct):.2f} ms")


if __name__ == "__main__":
    main()

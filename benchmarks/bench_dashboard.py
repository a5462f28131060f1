"""Dashboard page load with a large store (target: under 1 s with 100,000 decisions).

Run:
  .venv/bin/python benchmarks/bench_dashboard.py [--decisions 100000] [--store-url sqlite:///path.db]
                                                 [--reuse] [--repeats 10] [--no-browser]

1. Fill: the SDK (`Optimizer`, examples/aco.toml, both profiles) routes RouterBench test prompts (real recorded
   prompts; each call settled with the replay book's recorded cost of the chosen model, each task's outcome its
   recorded verdict) in tasks of 1-6 steps until the store holds `--decisions` decisions; 10% of the tasks run
   under a tight budget (refusals). `--reuse` skips the fill when the store already holds that many.
2. Serve: `aco serve` on that store (uvicorn on loopback, a subprocess), API key from the environment.
3. Time, over `--repeats` sequential rounds (wall clock, httpx on loopback): GET /dashboard, its 4 assets,
   /dashboard/api/summary and /dashboard/api/decisions (first page, with the filter options); "page load over
   HTTP" = the sum of all of them in one round. Twice: with one more outcome written before each round (the
   store changed: the summary is computed afresh, as under live traffic) and with the store unchanged (the
   summary comes from the server's cache). Then in headless Chromium (when installed): navigation start to
   every figure and the first table page rendered (`data-load-ms`, set by the page), per fresh page load,
   alternating changed / unchanged store.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from aco.config import load_config
from aco.datasets.location import resolve_data_dir
from aco.records import STEP_KINDS
from aco.sdk import BudgetExceededError, Optimizer
from aco.server.browser import headless_chromium, missing_reason
from aco.server.dashboard.summary import summary
from aco.server.launch import free_port, start, stop
from aco.server.replay_upstream import ReplayBook
from aco.server.traffic import routerbench_prompts
from aco.store import OutcomeRecord, Store

EXAMPLE = Path(__file__).parents[1] / "examples" / "aco.toml"
KEY = "bench-dashboard-key"
ASSETS = ("charts.css", "dashboard.css", "charts.js", "dashboard.js")


def _config(folder: Path, store_url: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace('store_url = "sqlite:///aco.db"', f'store_url = "{store_url}"')
    path = folder / "aco.toml"
    path.write_text(text, encoding="utf-8")
    return path


def fill(config: Path, store_url: str, data_dir: Path, target: int, seed: int = 0) -> float:
    """Route real prompts through the SDK until the store holds `target` decisions; returns seconds taken."""
    book = ReplayBook.from_data_dir(data_dir)
    prompts = routerbench_prompts(data_dir, 10_000, seed)
    rng = np.random.default_rng(seed)
    store = Store.open(store_url)
    optimizer = Optimizer(load_config(config), store)
    start_s = time.perf_counter()
    made = len(store.decisions(limit=target))
    task_no = 0
    while made < target:
        text, category = prompts[task_no % len(prompts)]
        profile = ("default", "default", "cheap")[task_no % 3]
        budget = 0.0003 if rng.random() < 0.1 else None
        task = optimizer.task(f"bench-{task_no:06d}", profile=profile, category=category, budget_usd=budget,
                              text=text)
        task_no += 1
        recorded = None
        for step in rng.choice(STEP_KINDS, size=int(rng.integers(1, 7))):
            try:
                decision = task.route(str(step))
            except BudgetExceededError:
                break
            made += 1
            recorded = book.lookup(text, decision.model)
            task.observe(decision, cost_usd=recorded.cost_usd if recorded else decision.reserved_usd)
            if made >= target:
                break
        if recorded is not None and np.isfinite(recorded.correct):
            task.finish(recorded.correct >= 0.5, verifier="benchmark")
        if task_no % 2000 == 0:
            print(f"  {made:,} decisions, {task_no:,} tasks, {time.perf_counter() - start_s:.0f} s", flush=True)
    optimizer.close()
    return time.perf_counter() - start_s


def _ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms"


def time_in_process(store_url: str, repeats: int) -> None:
    """The summary computed in this process (no cache, no HTTP): wall clock and this process's CPU time (SQLite
    runs in process, so CPU time is the work itself, whatever else the machine is doing)."""
    walls, cpus = [], []
    with Store.open(store_url) as store:
        for _ in range(repeats):
            w, c = time.perf_counter(), time.process_time()
            summary(store)
            walls.append(1000 * (time.perf_counter() - w))
            cpus.append(1000 * (time.process_time() - c))
    print(f"summary in process, computed afresh: wall {_ms(walls)};  CPU {_ms(cpus)}")


def _touch(store: Store, i: int) -> None:
    """One more reported outcome: the store changed, so the next summary is computed afresh (not cached)."""
    store.record_outcome(OutcomeRecord(task_id=f"bench-{i:06d}", model="gpt-4-1106-preview", score=1.0,
                                       success=True, verifier="benchmark"))


def time_http(base: str, store: Store, repeats: int, changed: bool) -> None:
    paths = ["/dashboard", *(f"/dashboard/assets/{a}" for a in ASSETS), "/dashboard/api/summary",
             "/dashboard/api/decisions?page=1&per_page=50&options=1"]
    times: dict[str, list[float]] = {p: [] for p in paths}
    totals = []
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {KEY}"}, timeout=60) as client:
        client.get("/dashboard/api/summary").raise_for_status()  # warm-up (imports, first connection)
        for i in range(repeats):
            if changed:
                _touch(store, i)
            total = 0.0
            for path in paths:
                t0 = time.perf_counter()
                client.get(path).raise_for_status()
                elapsed = 1000 * (time.perf_counter() - t0)
                times[path].append(elapsed)
                total += elapsed
            totals.append(total)
    print("store changed before every load (summary computed afresh):" if changed else
          "store unchanged between loads (summary from the cache):")
    for path in paths:
        print(f"  GET {path:<55} {_ms(times[path])}")
    print(f"  page load over HTTP (all of the above, one after another) {_ms(totals)}")


def time_browser(base: str, store: Store, repeats: int) -> None:
    reason = missing_reason()
    if reason:
        print(f"  browser: skipped ({reason})")
        return
    loads: dict[bool, list[float]] = {True: [], False: []}
    with headless_chromium(1440, 1000, http_credentials={"username": "aco", "password": KEY}) as ctx:
        for i in range(2 * repeats):
            changed = i % 2 == 0
            if changed:
                _touch(store, 10_000 + i)
            page = ctx.new_page()
            page.goto(f"{base}/dashboard?refresh=0")
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            loads[changed].append(float(page.get_attribute("body", "data-load-ms") or "nan"))
            page.close()
    print("Chromium, navigation start -> every figure and the first table page rendered:")
    print(f"  store changed before the load   {_ms(loads[True])}")
    print(f"  store unchanged                 {_ms(loads[False])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--store-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--reuse", action="store_true", help="skip filling when the store is already full enough")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    data_dir = resolve_data_dir()
    with tempfile.TemporaryDirectory(prefix="aco-bench-dash-") as tmp:
        folder = Path(tmp)
        store_url = args.store_url or f"sqlite:///{folder / 'aco.db'}"
        config = _config(folder, store_url)
        with Store.open(store_url) as store:
            have = len(store.decisions(limit=args.decisions))
        if have < args.decisions or not args.reuse:
            print(f"filling {store_url} to {args.decisions:,} decisions ({have:,} there)")
            seconds = fill(config, store_url, data_dir, args.decisions)
            print(f"filled in {seconds:.0f} s")
        with Store.open(store_url) as store, store.engine.connect() as conn:
            counts = {name: conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()
                      for name in ("decisions", "outcomes", "budgets", "budget_refusals")}
        print(f"store: {store_url.split('@')[-1]}: " + ", ".join(f"{n:,} {k}" for k, n in counts.items()))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        time_in_process(store_url, args.repeats)
        port = free_port()
        env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": KEY}
        proxy = start(["serve", "--config", str(config), "--port", str(port), "--store-url", store_url], env,
                      f"http://127.0.0.1:{port}/healthz")
        try:
            base = f"http://127.0.0.1:{port}"
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.repeats} rounds")
            with Store.open(store_url) as store:
                time_http(base, store, args.repeats, changed=True)
                time_http(base, store, args.repeats, changed=False)
                if not args.no_browser:
                    time_browser(base, store, args.repeats)
        finally:
            stop(proxy)


if __name__ == "__main__":
    main()

"""Screenshots for the README and the docs, from real data, in headless Chromium (Debian's `chromium`).

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--tasks-per-file 150]

1. the dashboard (`docs/img/dashboard.png`): a live `aco serve` (examples/aco.toml) fed by the replay upstream
   with real RouterBench traffic (`aco.server.traffic`: recorded prompts, responses, costs and verdicts);
2. the bench report (`docs/img/report.png`): `aco bench swebench-verified` (5-fold CV, seed 0, the default
   routers, as `make bench`), its cost-vs-success chart zoomed to the frontier region with one router's tooltip.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from aco.datasets.location import resolve_data_dir
from aco.server.browser import headless_chromium, missing_reason
from aco.server.launch import replay_stack
from aco.server.traffic import routerbench_prompts, send_traffic

ROOT = Path(__file__).resolve().parents[1]
KEY = "screenshot-key"


def dashboard_png(out: Path, data_dir: Path, tasks_per_file: int, tmp: Path) -> None:
    env = {"ACO_DATA_DIR": str(data_dir), "ACO_API_KEY": KEY}
    with replay_stack(ROOT / "examples" / "aco.toml", tmp, env) as stack:
        base = stack.proxy_url
        log = send_traffic(base, KEY, routerbench_prompts(data_dir, tasks_per_file),
                           profiles=("default", "default", "cheap"))
        print(f"traffic: {log.calls} calls, {log.refused} refused, {log.escalations} escalations, "
              f"{log.outcomes} outcomes")
        with headless_chromium(1440, 1480, http_credentials={"username": "aco", "password": KEY}) as ctx:
            page = ctx.new_page()
            page.goto(f"{base}/dashboard")
            page.wait_for_selector("body[data-ready='1']")
            page.screenshot(path=str(out / "dashboard.png"))  # the top of the page: figures and charts


def report_png(out: Path, data_dir: Path, tmp: Path) -> None:
    from aco.datasets import load_dataset
    from aco.evaluation.bench import default_router_specs, run_bench
    from aco.report.html import write_report

    table = load_dataset("swebench-verified", data_dir)
    result = run_bench(table, default_router_specs(table), folds=5, seed=0)
    report = tmp / "swebench-verified.html"
    write_report(result, report)
    with headless_chromium(1440, 900) as ctx:
        page = ctx.new_page()
        page.goto(report.as_uri())
        chart = page.wait_for_selector("#cost-quality svg[data-chart]")
        page.click("#cost-quality button[data-region='Frontier region']")
        box = page.eval_on_selector(
            "#cost-quality", "(host) => { const c = host.acoChart; const p = c.shown.find("
            "(q) => q.s.name === 'mf' && !q.line); const r = c.svg.getBoundingClientRect();"
            "return {x: r.left + p.px * r.width / c.width, y: r.top + p.py * r.height / c.height}; }")
        page.mouse.move(box["x"], box["y"])
        page.wait_for_selector("#cost-quality .aco-tooltip:not([hidden])")
        assert chart is not None
        page.locator("#cost-quality").screenshot(path=str(out / "report.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--tasks-per-file", type=int, default=150)
    parser.add_argument("--only", choices=("dashboard", "report"), default=None)
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        raise SystemExit(f"cannot take screenshots: {reason}")
    data_dir = resolve_data_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aco-shots-") as tmp:
        if args.only in (None, "dashboard"):
            dashboard_png(args.out, data_dir, args.tasks_per_file, Path(tmp))
        if args.only in (None, "report"):
            report_png(args.out, data_dir, Path(tmp))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

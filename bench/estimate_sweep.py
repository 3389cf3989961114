"""Benchmark: estimator sweeps in DuckDB and the estimator pages' server-side rerun time.

    .venv/bin/python bench/estimate_sweep.py [--repeats 5] [--page-runs 20]

1. A training sweep of every accelerator × 50 model sizes × 50 token budgets × 27 accelerator
   counts (≥ 1,000,000 scenarios) as the one SQL query of core.estimate.sweep, timed two ways:
   materialised to Arrow (every scenario row leaves DuckDB) and aggregated in SQL (cheapest
   accelerator per size × budget × count; every scenario is still computed). Goal ≥ 1M scenarios/s.
2. The Training cost and Memory & inference pages rerun in AppTest (the script re-executes on
   the server as on every widget change); median of N reruns with the same inputs (reference data
   served from core's cache) and with a changed input each time (new sweep / estimates computed).
   Goal ≤ 150 ms.
It writes to a temporary state directory, never to .state/.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPPLAB_STATE_DIR", tempfile.mkdtemp(prefix="opplab-bench-"))
os.environ.pop("DATABASE_URL", None)

import numpy as np  # noqa: E402

from core import catalog  # noqa: E402
from core.estimate import sweep  # noqa: E402


def sweep_benchmark(repeats: int) -> dict:
    sizes = np.logspace(8, 12, 50).tolist()  # 100M .. 1T parameters
    budgets = np.logspace(9, 14, 50).tolist()  # 1B .. 100T tokens
    counts = sorted({int(round(2 ** (i / 2))) for i in range(27)})  # 1 .. 8192
    while len(counts) < 27:
        counts.append(counts[-1] * 2)
    params = sweep.sweep_params(sizes, budgets, counts, mfu=0.4)
    con = catalog._connection()  # the process connection; a cursor per query as the app does
    n_acc = con.cursor().execute("SELECT count(*) FROM accelerators").fetchone()[0] + len(params["user_ids"])
    scenarios = n_acc * len(sizes) * len(budgets) * len(counts)

    materialise_s, aggregate_s = [], []
    aggregate_sql = f"""
        SELECT params, tokens, count, arg_min(accelerator_id, cost_usd) AS cheapest, min(cost_usd) AS cost_usd,
               count(*) AS scenarios
        FROM ({sweep._SWEEP_SQL}) GROUP BY ALL"""
    for _ in range(repeats):
        cur = con.cursor()
        t0 = time.perf_counter()
        table = cur.sql(sweep._SWEEP_SQL, params=params).to_arrow_table()
        materialise_s.append(time.perf_counter() - t0)
        assert table.num_rows == scenarios, (table.num_rows, scenarios)
        t0 = time.perf_counter()
        agg = cur.execute(aggregate_sql, params).fetchall()
        aggregate_s.append(time.perf_counter() - t0)
        assert sum(r[-1] for r in agg) == scenarios
        cur.close()
    mat, agg_t = statistics.median(materialise_s), statistics.median(aggregate_s)
    return {"accelerators": n_acc, "sizes": len(sizes), "budgets": len(budgets), "counts": len(counts),
            "scenarios": scenarios, "materialise_median_s": round(mat, 4),
            "materialise_scenarios_per_s": round(scenarios / mat), "aggregate_median_s": round(agg_t, 4),
            "aggregate_scenarios_per_s": round(scenarios / agg_t)}


def _median_ms(times: list[float]) -> dict:
    return {"median_ms": round(statistics.median(times) * 1000, 1),
            "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))] * 1000, 1), "runs": len(times)}


def page_benchmark(runs: int) -> dict:
    """Median server-side rerun: same inputs (reference data cached), and a changed input every rerun."""
    from streamlit.testing.v1 import AppTest

    def changed_input(at: AppTest, path: str, i: int):
        if path.endswith("training-cost.py"):
            return at.number_input(key="est_params_b").set_value(1.0 + i)  # new sweep + deadline query
        return next(n for n in at.number_input if n.label.startswith("Batch")).set_value(2 + i)

    out = {}
    for path in ("pages/training-cost.py", "pages/memory-inference.py"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(path).run()  # first run: imports, catalogue build, caches
        assert not at.exception, [e.value for e in at.exception]
        same, changed = [], []
        for i in range(runs):
            t0 = time.perf_counter()
            at.run()
            same.append(time.perf_counter() - t0)
            widget = changed_input(at, path, i)
            t0 = time.perf_counter()
            widget.run()
            changed.append(time.perf_counter() - t0)
            assert not at.exception
        out[path] = {"same_inputs": _median_ms(same), "changed_input": _median_ms(changed)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="sweep repetitions (median reported)")
    parser.add_argument("--page-runs", type=int, default=20, help="AppTest reruns per page (median reported)")
    args = parser.parse_args()
    result = {"sweep": sweep_benchmark(args.repeats), "pages": page_benchmark(args.page_runs),
              "cpu_count": os.cpu_count()}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

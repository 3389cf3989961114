"""python -m core explore: rank the use-case catalogue from the command line, as the Explorer does.

  python -m core explore --top 10
  python -m core explore --weight regulation=8 --weight market=5 --domain finance --domain medical --json
  python -m core explore --scenario "Cautious founder" --csv ranking.csv
  python -m core explore --list-scenarios

Options: --weight KEY=N (repeatable; 0..10; keys: market, growth, maturity, data, compute, speed,
competition, privacy, bias, regulation; unset keys keep the default weights), --domain ID,
--task ID, --risk low|medium|high (each repeatable), --min-size B / --max-size B (typical model
size, billions of parameters), --search TEXT, --scenario NAME (start from a saved scenario: its
weights, filters and edited assumptions; the options above then override), --top N (rows to
print, default 10), --csv PATH (write the whole ranked table), --list-scenarios, --json.
Exit code 2 with a message on stderr for bad input (unknown key, all weights zero, no match).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from core.cli import CliParser


def _weights(pairs: list[str], base: dict[str, float]) -> dict[str, float]:
    from core.explore import market

    weights = dict(base)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in market.CRITERION:
            raise ValueError(f"--weight wants KEY=N with KEY one of {', '.join(market.CRITERION)}; got {pair!r}")
        try:
            weights[key] = float(value)
        except ValueError:
            raise ValueError(f"--weight {key}: {value!r} is not a number") from None
        if not 0 <= weights[key] <= market.MAX_WEIGHT:
            raise ValueError(f"--weight {key} must be between 0 and {market.MAX_WEIGHT}")
    return weights


def main(argv: list[str]) -> int:
    p = CliParser(prog="python -m core explore", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weight", action="append", default=[], metavar="KEY=N", help="a criterion's weight (0..10)")
    p.add_argument("--domain", action="append", default=[], metavar="ID", help="keep this domain (repeatable)")
    p.add_argument("--task", action="append", default=[], metavar="ID", help="keep this model capability")
    p.add_argument("--risk", action="append", default=[], choices=["low", "medium", "high"], help="keep this risk level")
    p.add_argument("--min-size", type=float, default=None, metavar="B", help="smallest typical model (B params)")
    p.add_argument("--max-size", type=float, default=None, metavar="B", help="largest typical model (B params)")
    p.add_argument("--search", default="", metavar="TEXT", help="text in a name, description or domain")
    p.add_argument("--scenario", default=None, metavar="NAME", help="start from a saved scenario")
    p.add_argument("--top", type=int, default=10, metavar="N", help="rows to print (default 10)")
    p.add_argument("--csv", default=None, metavar="PATH", help="write the whole ranked table as CSV")
    p.add_argument("--list-scenarios", action="store_true", help="list saved scenarios and exit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)

    from core.explore import data as explorer_data
    from core.explore import market, scenarios

    if args.list_scenarios:
        rows = [{"id": r.id, "name": r.name, "edited_use_cases": len(r.state.overrides), "notes": r.notes,
                 "updated_at": r.updated_at.isoformat()} for r in scenarios.list_all()]
        print(json.dumps(rows, ensure_ascii=False) if args.json else
              "\n".join(f"{r['id']:>4}  {r['name']}  ({r['edited_use_cases']} edited)" for r in rows) or "no scenarios")
        return 0
    if args.top < 1:
        print("error: --top must be positive", file=sys.stderr)
        return 2
    state = scenarios.ScenarioState()
    if args.scenario is not None:
        match = scenarios.find(args.scenario)
        if match is None:
            print(f"error: no scenario named {args.scenario!r} (see --list-scenarios)", file=sys.stderr)
            return 2
        state = match.state
    try:
        weights = _weights(args.weight, state.weights)
        market.normalise_weights(weights)
    except market.WeightsError as exc:
        print(f"error: weights rejected ({exc.code}): set at least one --weight KEY=N above 0", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    f = state.filters_obj()
    f = replace(f, domains=tuple(args.domain) or f.domains, tasks=tuple(args.task) or f.tasks,
                risk_levels=tuple(args.risk) or f.risk_levels, text=args.search or f.text,
                size_min_b=args.min_size if args.min_size is not None else f.size_min_b,
                size_max_b=args.max_size if args.max_size is not None else f.size_max_b)
    ranked = market.apply_filters(market.evaluate(explorer_data.catalogue(), weights, state.overrides), f)
    if ranked.empty:
        print("error: no use case matches these filters", file=sys.stderr)
        return 2
    table = market.ranked_table(ranked)
    if args.csv:
        try:
            table.to_csv(args.csv, index=False)
        except (OSError, ValueError) as exc:  # a missing folder, no permission, a NUL in the name
            print(f"error: cannot write the CSV to {args.csv!r}: {exc}", file=sys.stderr)
            return 2
    shown = table.head(args.top)
    if args.json:
        rows = shown.astype(object).where(shown.notna(), None).to_dict(orient="records")  # NaN -> null: strict JSON
        print(json.dumps({"weights": market.normalise_weights(weights), "matches": len(table),
                          "rows": rows}, ensure_ascii=False, default=str, allow_nan=False))
    else:
        for row in shown.itertuples():
            print(f"{row.rank:>3}  {row.score:5.1f}  {row.name:<44} {row.domain:<24} "
                  f"USD {row.market_usd_b:7.2f}B ({row.market_basis})")
        print(f"{len(table)} use cases match" + (f"; CSV written to {args.csv}" if args.csv else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

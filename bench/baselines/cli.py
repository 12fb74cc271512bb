"""A baseline as a command, for the whole-process benchmark (start-up included):

    python -c 'import sys; sys.path.insert(0, "bench"); from baselines.cli import main; main()' \
        TOOL data.csv rules.kpi 2026-11-26

prints ``{"results": [...]}`` like ``kpirules check --format json`` (normalised fields only).
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from baselines import functions
from baselines.spec import parse_rules_text


def main(argv: list[str] | None = None) -> None:
    tool, csv_path, rules_path, as_of = argv if argv is not None else sys.argv[1:]
    specs = parse_rules_text(open(rules_path, encoding="utf-8").read())
    day = dt.date.fromisoformat(as_of)
    load, evaluate = functions(tool)
    if tool == "duckdb_all":
        # one query straight over the CSV: a one-shot DuckDB script reads the file once
        table = load(csv_path, materialise=False)
    else:
        table = load(csv_path)
    json.dump({"as_of": as_of, "results": evaluate(table, specs, day)}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

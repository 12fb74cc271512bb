"""xlsx at the speed of a fast reader (issue 14): `kpirules check` of the M data (100,000
rows) as an .xlsx workbook against a bare python-calamine read of the same sheet, whole
processes, run in turn, medians. Never asserted; prints the ratio.

    python bench/xlsx_read.py [--repeat 5] [--rules 10]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def workbook(rules: int) -> Path:
    """The M CSV (bench/generate.py) as an xlsx with typed dates and numbers, and the first
    ``rules`` rules of the benchmark's rules file in a Rules tab."""
    path = DATA / f"marketing_M_rules{rules}.xlsx"
    if path.exists():
        return path
    from openpyxl import Workbook

    subprocess.run([sys.executable, str(HERE / "generate.py"), "--sizes", "M", "--rules", str(rules)], check=True)
    source = next(DATA.glob("marketing_M_*.csv"))
    rules_file = next(DATA.glob(f"rules_{rules}_*.kpi"))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    with source.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        ws.append(next(reader))
        for row in reader:
            ws.append([dt.date.fromisoformat(row[0]), row[1], row[2], *(float(v) if v else None for v in row[3:])])
    rs = wb.create_sheet("Rules")
    rs.append(["Name", "Rule"])
    for line in rules_file.read_text(encoding="utf-8").splitlines():
        name, sep, rule = line.partition(":")
        if sep and not line.startswith("#"):
            rs.append([name.strip(), rule.strip()])
    wb.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rules", type=int, default=10)
    args = parser.parse_args()
    path = workbook(args.rules)
    bare = [sys.executable, "-c", "import python_calamine as pc, sys; "
            "pc.CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name('Data').to_python()", str(path)]
    check = [sys.executable, "-m", "kpirules", "check", str(path), "--as-of", "2026-11-26", "--format", "json"]
    times: dict[str, list[float]] = {"calamine": [], "kpirules": []}
    for i in range(args.repeat):
        for name, cmd in (("calamine", bare), ("kpirules", check))[:: 1 if i % 2 else -1]:
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True)
            times[name].append(time.perf_counter() - start)
            if done.returncode not in (0, 1, 2):
                sys.exit(f"{name} failed: {done.stderr.decode()[-500:]}")
    a, b = statistics.median(times["calamine"]), statistics.median(times["kpirules"])
    print(f"xlsx M ({path.name}): calamine read {a:.2f} s, kpirules check {b:.2f} s, ratio {b / a:.2f}")


if __name__ == "__main__":
    main()

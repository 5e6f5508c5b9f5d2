"""Grading cost vs a bare run of the same file, measured side by side.

    python benchmarks/bench.py [--runs 5] [--exercise hello_world]

For each exercise, alternates `python SOLUTION` (what the student runs) with
`grader grade EXERCISE SOLUTION --json ...` (a fresh grader process each time: start-up,
child process, training, trusted evaluation, reports), and prints the medians and their ratio.
Timed end to end from outside, wall clock; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def bench(exercise: str, runs: int) -> dict:
    solution = ROOT / "exercises" / exercise / "solution.py"
    bare, graded = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bare_cmd = [sys.executable, str(solution)]
        grade_cmd = [sys.executable, "-m", "grader", "grade", exercise, str(solution), "--json", str(tmp / "r.json")]
        timed(bare_cmd, tmp)  # warm the file cache once for both
        for _ in range(runs):
            bare.append(timed(bare_cmd, tmp))
            graded.append(timed(grade_cmd, tmp))
    b, g = statistics.median(bare), statistics.median(graded)
    return {"exercise": exercise, "bare_s": b, "grade_s": g, "ratio": g / b, "runs": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--exercise", action="append", help="exercise to measure (repeatable); default: all built-in")
    args = parser.parse_args()
    exercises = args.exercise or sorted(p.parent.name for p in (ROOT / "exercises").glob("*/solution.py"))
    print("| exercise | bare `python solution.py` (median) | `grader grade` (median) | ratio |")
    print("|---|---|---|---|")
    for name in exercises:
        r = bench(name, args.runs)
        print(f"| {name} | {r['bare_s']:.2f} s | {r['grade_s']:.2f} s | {r['ratio']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()

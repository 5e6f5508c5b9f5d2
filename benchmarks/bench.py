"""Grading cost vs a bare run of the same file, measured side by side.

    python benchmarks/bench.py [--runs 5] [--exercise hello_world] [--isolation]
    python benchmarks/bench.py --fairness [--runs 5]
    python benchmarks/bench.py --batch [--runs 3]
    python benchmarks/bench.py --against REF [--runs 5]   hello_world: this tree's grader against REF's
    python benchmarks/bench.py --verification [--runs 3] [--exercise E[@FILE|@epochs=N]]   what verifying training adds, against the same gradings with it off

For each exercise, alternates `python SOLUTION` (what the student runs) with
`grader grade EXERCISE SOLUTION --json ...` (a fresh grader process each time: start-up,
child process, training, trusted evaluation, reports), and prints the medians and their ratio.
Both read the same stand-in datasets (`grader data synth`): the bare run through Keras' own
cache folder (KERAS_HOME), the grader through --data-dir. Both seed Keras with the exercise's seed
(the bare run through `keras.utils.set_random_seed` before running the file), so both train the
same number of epochs where a callback decides when to stop. Timed end to end from outside, wall
clock; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def isolation_cost(runs: int, tmp: Path) -> dict:
    """hello_world graded in the strongest sandbox vs with GRADER_ISOLATION=process-group, alternating."""
    solution = ROOT / "exercises" / "hello_world" / "solution.py"
    cmd = [sys.executable, "-m", "grader", "grade", "hello_world", str(solution), "--json", str(tmp / "r.json")]
    strong, weak = [], []
    for _ in range(runs):
        strong.append(timed(cmd, tmp, dict(os.environ)))
        weak.append(timed(cmd, tmp, dict(os.environ, GRADER_ISOLATION="process-group")))
    s, w = statistics.median(strong), statistics.median(weak)
    return {"strong_s": s, "weak_s": w, "ratio": s / w}


def against_cost(ref: str, runs: int, tmp: Path) -> dict:
    """hello_world: bare run, REF's grader and this tree's, alternating in one run. REF is checked out
    in a git worktree and put first on PYTHONPATH for its grader process; the student's child starts
    with `python -I`, so it runs the installed harness either way (the parent side is what differs)."""
    before = tmp / "before"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), ref], check=True,
                   capture_output=True)
    try:
        solution = ROOT / "exercises" / "hello_world" / "solution.py"
        bare_cmd = [sys.executable, "-c", "import keras, runpy; keras.utils.set_random_seed(42); "
                                          f"runpy.run_path({str(solution)!r}, run_name='__main__')"]
        grade_cmd = [sys.executable, "-m", "grader", "grade", "hello_world", str(solution), "--json",
                     str(tmp / "r.json")]
        env = dict(os.environ)
        old_env = dict(os.environ, PYTHONPATH=str(before))
        timed(bare_cmd, tmp, env)
        bare, old, new = [], [], []
        for _ in range(runs):
            bare.append(timed(bare_cmd, tmp, env))
            old.append(timed(grade_cmd, tmp, old_env))
            new.append(timed(grade_cmd, tmp, env))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True)
    b, o, n = statistics.median(bare), statistics.median(old), statistics.median(new)
    return {"bare_s": b, "old_s": o, "new_s": n, "old_ratio": o / b, "new_ratio": n / b}


def seeding_cost(runs: int) -> dict:
    """hello_world graded in this process, alternating: seeded with live progress events (what
    `grader grade` does in a terminal) vs unseeded with no progress pipe at all."""
    from grader.exercise import get_exercise
    from grader.grading import grade

    ex = get_exercise("hello_world")
    solution = ROOT / "exercises" / "hello_world" / "solution.py"
    events: list = []
    grade(ex, solution)  # the grader's own Keras import, once, outside the timings
    plain, full = [], []
    for _ in range(runs):
        started = time.perf_counter()
        grade(ex, solution, seeded=False)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        grade(ex, solution, progress=events.append)
        full.append(time.perf_counter() - started)
    p, f = statistics.median(plain), statistics.median(full)
    return {"plain_s": p, "full_s": f, "ratio": f / p, "events": len(events) // runs}


def runs_cost(runs: int, tmp: Path) -> dict:
    """hello_world graded with --runs 3 vs --runs 1 (fresh grader processes, alternating)."""
    solution = ROOT / "exercises" / "hello_world" / "solution.py"
    cmd = [sys.executable, "-m", "grader", "grade", "hello_world", str(solution), "--json", str(tmp / "r.json")]
    one, three = [], []
    for _ in range(runs):
        one.append(timed(cmd + ["--runs", "1"], tmp, dict(os.environ)))
        three.append(timed(cmd + ["--runs", "3"], tmp, dict(os.environ)))
    o, t = statistics.median(one), statistics.median(three)
    return {"one_s": o, "three_s": t, "ratio": t / o}


def batch_cost(runs: int, tmp: Path, students: int = 8) -> dict:
    """A class of hello_world submissions as a class hands them in (right: the reference solution; wrong:
    the exercise's bad/ variants; broken: a typo and a crash) graded with 1 worker vs 2 (alternating,
    fresh output folders), and --resume on the unchanged class against its first grading."""
    subs = tmp / "class"
    subs.mkdir()
    exercise = ROOT / "exercises" / "hello_world"
    solution = (exercise / "solution.py").read_text()
    kinds = [solution, *(p.read_text() for p in sorted((exercise / "bad").glob("*.py"))),
             solution.replace("model.fit(", "model.fitt(", 1), "import tensorflow as tf\nprint(undefined_name)\n"]
    for i in range(students):
        (subs / f"student{i:02d}.py").write_text(kinds[i % len(kinds)] if i else solution)
    base = [sys.executable, "-m", "grader", "batch", "hello_world", str(subs)]
    one, two, resume = [], [], []
    for r in range(runs):
        one.append(timed(base + ["--out", str(tmp / f"one{r}"), "--workers", "1"], tmp, dict(os.environ)))
        two.append(timed(base + ["--out", str(tmp / f"two{r}"), "--workers", "2"], tmp, dict(os.environ)))
        resume.append(timed(base + ["--out", str(tmp / f"two{r}"), "--workers", "2", "--resume"], tmp,
                            dict(os.environ)))
    o, t, r = statistics.median(one), statistics.median(two), statistics.median(resume)
    return {"students": students, "one_s": o, "two_s": t, "ratio": t / o, "resume_s": r, "resume_ratio": r / t}


def verification_cost(exercise: str, runs: int, tmp: Path) -> dict:
    """One exercise's reference graded ``runs`` times as the exercise is, alternating with a copy of the exercise
    whose spec turns verification off (``[verification] enabled = false``: no commitments, saved states or
    replays): the medians of both gradings' wall clocks, what verifying adds (their difference, and its ratio to
    the grading without it), and from the verified gradings' reports the child's seconds committing and saving
    states (those training waited for, and those of the ledger's own thread), the evaluator's seconds replaying,
    the MiB of states saved and the verdict."""
    import json
    import shutil

    exercise, _, submission = exercise.partition("@")  # EXERCISE@FILE: that file rather than the reference
    source = ROOT / "exercises" / exercise
    solution = ROOT / submission if submission else source / "solution.py"
    label = f" ({solution.stem})" if submission else ""
    if submission.startswith("epochs="):  # EXERCISE@epochs=N: the reference trained for N epochs, no stopping
        import re  # callback (the course's notebooks train 15 to 100 epochs on the real data)

        epochs = int(submission.split("=", 1)[1])
        text, asked = re.subn(r"epochs=\d+", f"epochs={epochs}", (source / "solution.py").read_text())
        text, stopped = re.subn(r"callbacks=\[[^\]]*\],\s*", "", text)
        if (asked, stopped) != (1, 1):
            raise SystemExit(f"{exercise}'s reference has not one fit(epochs=..., callbacks=[...]) to change")
        solution, label = tmp / f"{exercise}-{epochs}-epochs.py", f" ({epochs} epochs, no stopping callback)"
        solution.write_text(text)
    off = tmp / "unverified" / exercise
    if not off.is_dir():
        shutil.copytree(source, off)
        spec = (off / "spec.toml").read_text()
        if "[verification]" in spec:
            spec = spec.replace("[verification]", "[verification]\nenabled = false", 1)
        else:
            spec += "\n[verification]\nenabled = false\n"
        (off / "spec.toml").write_text(spec)
    out = tmp / f"{exercise}.json"
    base = [sys.executable, "-m", "grader"]
    tail = ["grade", exercise, str(solution), "--json", str(out), "--data-dir", str(tmp / "standin")]
    on_rows, off_walls = [], []
    for _ in range(runs):
        wall = timed(base + tail, tmp, dict(os.environ))
        verification = json.loads(out.read_text())["environment"]["training_verification"]
        cost = verification.get("cost") or {}
        on_rows.append((wall, cost.get("commit_s") or 0.0, cost.get("replay_s") or 0.0, cost.get("state_mib") or 0.0,
                        cost.get("commit_thread_s") or 0.0, verification["status"],
                        len(verification.get("replayed") or [])))
        off_walls.append(timed(base + ["--exercises", str(off)] + tail, tmp, dict(os.environ)))
        status = json.loads(out.read_text())["environment"]["training_verification"]["status"]
        if status != "off":
            raise SystemExit(f"the copy of {exercise} without verification still verified ({status})")
    wall, commit, replay, mib, thread = (statistics.median(r[i] for r in on_rows) for i in range(5))
    without = statistics.median(off_walls)
    return {"exercise": exercise + label, "wall_s": wall,
            "without_s": without, "added_s": wall - without, "added": (wall - without) / without,
            "commit_s": commit, "commit_thread_s": thread, "replay_s": replay, "state_mib": mib,
            "status": on_rows[-1][5], "replayed": on_rows[-1][6]}


def bench(exercise: str, runs: int, tmp: Path) -> dict:
    solution = ROOT / "exercises" / exercise / "solution.py"
    bare, graded = [], []
    standin = tmp / "standin"
    env = dict(os.environ, KERAS_HOME=str(tmp / "keras-home"))
    seed = tomllib.loads((solution.parent / "spec.toml").read_text()).get("seed", 0)
    bare_cmd = [sys.executable, "-c", f"import keras, runpy; keras.utils.set_random_seed({seed}); "
                                      f"runpy.run_path({str(solution)!r}, run_name='__main__')"]
    grade_cmd = [sys.executable, "-m", "grader", "grade", exercise, str(solution), "--json", str(tmp / "r.json"),
                 "--data-dir", str(standin)]
    timed(bare_cmd, tmp, env)  # warm the file cache once for both
    for _ in range(runs):
        bare.append(timed(bare_cmd, tmp, env))
        graded.append(timed(grade_cmd, tmp, env))
    b, g = statistics.median(bare), statistics.median(graded)
    return {"exercise": exercise, "bare_s": b, "grade_s": g, "ratio": g / b, "runs": runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--exercise", action="append", help="exercise to measure (repeatable); default: all built-in")
    parser.add_argument("--isolation", action="store_true", help="also measure what the sandbox costs")
    parser.add_argument("--fairness", action="store_true",
                        help="only measure what seeding + progress cost, and --runs 3 against one run")
    parser.add_argument("--batch", action="store_true",
                        help="only measure grader batch: 2 workers against 1, and --resume on an unchanged class")
    parser.add_argument("--against", metavar="REF", help="only measure hello_world graded by REF's grader and this one")
    parser.add_argument("--verification", action="store_true",
                        help="only measure what verifying training costs within each grading")
    args = parser.parse_args()
    if args.verification:
        exercises = args.exercise or ["hello_world", "fashion_mnist_callback", "cnn_augmentation",
                                      "fashion_mnist_callback@benchmarks/submissions/fashion_mnist_tf_data.py",
                                      "cnn_augmentation@benchmarks/submissions/cnn_image_dataset.py",
                                      "cnn_augmentation@epochs=5"]
        print("| exercise | graded, verified (median) | graded, verification off (median) | verifying adds | "
              "committing + saving, in the child (training waited; on the ledger's thread) | replaying, in the "
              "evaluator | states saved | verdict |\n|---|---|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "grader", "data", "synth", str(Path(tmp) / "standin")], check=True,
                           stdout=subprocess.DEVNULL)
            for exercise in exercises:
                r = verification_cost(exercise, args.runs, Path(tmp))
                replayed = (f" ({r['replayed']} epoch{'s' if r['replayed'] != 1 else ''} replayed)"
                            if r["replayed"] else "")
                print(f"| {r['exercise']} | {r['wall_s']:.2f} s | {r['without_s']:.2f} s | {r['added_s']:.2f} s "
                      f"({100 * r['added']:+.1f}%) | {r['commit_s']:.2f} s; {r['commit_thread_s']:.2f} s | "
                      f"{r['replay_s']:.2f} s | {r['state_mib']:.1f} MiB | {r['status']}{replayed} |", flush=True)
        return
    if args.against:
        with tempfile.TemporaryDirectory() as tmp:
            r = against_cost(args.against, args.runs, Path(tmp))
        print(f"| hello_world | bare (median) | grade at {args.against} (median) | grade now (median) |\n"
              f"|---|---|---|---|\n| seconds | {r['bare_s']:.2f} s | {r['old_s']:.2f} s | {r['new_s']:.2f} s |\n"
              f"| grade / bare | 1 | {r['old_ratio']:.2f}x | {r['new_ratio']:.2f}x |")
        return
    if args.batch:
        with tempfile.TemporaryDirectory() as tmp:
            r = batch_cost(args.runs, Path(tmp))
        print(f"| {r['students']} hello_world submissions (right, wrong, broken) | --workers 1 (median) | --workers 2 (median) | ratio |\n"
              f"|---|---|---|---|\n| grader batch | {r['one_s']:.1f} s | {r['two_s']:.1f} s | {r['ratio']:.2f}x |\n\n"
              f"| unchanged class | first grading (--workers 2) | --resume (median) | ratio |\n|---|---|---|---|\n"
              f"| grader batch --resume | {r['two_s']:.1f} s | {r['resume_s']:.2f} s | {r['resume_ratio']:.3f}x |")
        return
    if args.fairness:
        r = seeding_cost(args.runs)
        print("| hello_world graded | seeded, live progress (median) | unseeded, no progress (median) | ratio |")
        print("|---|---|---|---|")
        print(f"| seeding + progress ({r['events']} events) | {r['full_s']:.2f} s | {r['plain_s']:.2f} s | "
              f"{r['ratio']:.3f}x |", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            r = runs_cost(args.runs, Path(tmp))
        print(f"\n| hello_world graded | --runs 3 (median) | --runs 1 (median) | ratio |\n|---|---|---|---|\n"
              f"| {os.cpu_count()} cores | {r['three_s']:.2f} s | {r['one_s']:.2f} s | {r['ratio']:.2f}x |")
        return
    exercises = args.exercise or sorted(p.parent.name for p in (ROOT / "exercises").glob("*/solution.py"))
    print("| exercise | bare `python solution.py` (median) | `grader grade` (median) | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "grader", "data", "synth", str(tmp / "standin")], check=True,
                       stdout=subprocess.DEVNULL)
        (tmp / "keras-home").mkdir()
        (tmp / "keras-home" / "datasets").symlink_to(tmp / "standin")  # the same layout as Keras' cache
        for tree in (tmp / "standin").iterdir():  # image trees are read from the working directory
            (tmp / tree.name).symlink_to(tree, target_is_directory=True)
        for name in exercises:
            r = bench(name, args.runs, tmp)
            print(f"| {name} | {r['bare_s']:.2f} s | {r['grade_s']:.2f} s | {r['ratio']:.2f}x |", flush=True)
        if args.isolation:
            r = isolation_cost(args.runs, tmp)
            print("\n| hello_world graded | bubblewrap + cgroup (median) | process group only (median) | ratio |")
            print("|---|---|---|---|")
            print(f"| isolation cost | {r['strong_s']:.2f} s | {r['weak_s']:.2f} s | {r['ratio']:.3f}x |", flush=True)


if __name__ == "__main__":
    main()

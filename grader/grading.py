"""One grading, end to end: load, run (child), evaluate (trusted), check, build the report."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from grader import datasets, evaluate, outcome, plugins, runner, runtime, training_proof, workfolders
from grader.checks import run_check
from grader.diagnoses import run_diagnoses
from grader import evaluator as evaluators
from grader.evaluator import EvalLimits
from grader import exercise as exercises_module
from grader.exercise import Exercise
from grader.results import Report
from grader.submission import load_submission


def _located(items: list, source) -> list:
    """Each item with a ``line`` of the generated source also says where that is in the student's file
    (``line 9``, or ``cell 5, line 3`` of a notebook), so every part of the report points alike."""
    return [dict(item, where=source.locate(item["line"])) if isinstance(item.get("line"), int) else item
            for item in items]


def _training_summary(trace: dict, source) -> dict:
    fits = []
    for f in trace.get("fits") or []:
        fits.append(dict({k: f.get(k) for k in (
            "index", "line", "epochs_requested", "epochs_allowed", "epochs_run", "capped", "stopped_by",
            "limit_hit", "history", "epoch_times", "data", "validation", "callbacks", "fast_path", "duration_s",
            "error")}, ended=outcome.ending_text(f)))
        if str(fits[-1].get("error") or "").startswith("GraderTimeLimit"):  # the grader's own signal, said by "ended"
            fits[-1]["error"] = None
    fits = _located(fits, source)
    return {"fits": fits, "epochs_run": sum(f["epochs_run"] or 0 for f in fits)}


def chart_thresholds(exercise: Exercise) -> dict:
    """Thresholds the public checks compare a logged metric with, drawn on the charts: a metric's own
    line, and an accuracy check's on the validation split as the val_accuracy line."""
    lines = {}
    for c in exercise.public_checks:
        threshold = c.params.get("threshold")
        if not isinstance(threshold, (int, float)):
            continue
        if isinstance(c.params.get("metric"), str):
            lines[c.params["metric"]] = threshold
        elif c.type == "accuracy" and c.params.get("split") == "validation":
            lines["val_accuracy"] = threshold
    return lines


# colour and cursor codes (CSI) and terminal commands (OSC: window titles, hyperlinks), which a page would
# show as noise and a terminal would obey
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def terminal_text(raw: str) -> str:
    """What a terminal would show: colour codes dropped, each carriage return and backspace applied
    (Keras redraws its progress bar in place; 500 epochs would otherwise be 500 copies of it)."""
    lines = []
    for line in _ANSI.sub("", raw).split("\n"):
        if "\r" in line:
            line = [part for part in line.split("\r") if part][-1] if line.strip("\r") else ""
        if "\b" in line:
            kept: list[str] = []
            for ch in line:
                if ch == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(ch)
            line = "".join(kept)
        lines.append(line)
    return "\n".join(lines)


def program_exit_code(run: runner.RunResult) -> int | None:
    """The exit code Python would have ended the student's program with (the harness around it ends with
    its own): 0 when it ran to the end, sys.exit's number (1 for a message), 1 for an uncaught error,
    None when the grader stopped it (time, memory, disk) or a signal ended it."""
    if run.status == "ok":
        return 0
    if run.status == "exit":
        code = run.trace.get("exit_code")
        return 0 if code is None else code if isinstance(code, int) else 1
    if run.status in ("error", "syntax_error"):
        return 1
    return run.exit_code if run.status == "crashed" and run.signal is None else None


def _run_summary(run: runner.RunResult, source) -> dict:
    trace = run.trace
    return {
        "status": run.status,
        "exit_code": program_exit_code(run),
        "signal": run.signal,
        "timed_out": run.timed_out,
        "duration_s": round(run.duration_s, 3),
        "peak_memory_mib": run.peak_memory_mib,
        "memory_limit_mib": run.memory_limit_mib,
        "memory_exceeded": run.memory_exceeded,
        "disk_limit_mib": run.disk_limit_mib,
        "disk_exceeded": run.disk_exceeded,
        "isolation": run.isolation,
        "warnings": run.warnings,
        "error": trace.get("error"),
        "cell_errors": trace.get("cell_errors") or [],
        "output_tail": terminal_text(run.output_head + ("\n[... output cut ...]\n" if run.output_cut else "")
                                     + run.output_tail),
        "output_bytes": run.output_bytes,
        "output_cut_bytes": run.output_cut,
        "outcome": outcome.what_happened(outcome.run_facts(run), _located(trace.get("fits") or [], source),
                                         run.time_limit_s),
    }


def locate_data(exercise: Exercise, data_dir: Path | None = None):
    """The exercise's dataset, found offline (None when the exercise carries its own data).
    Raises DataError, before any work, when it is missing."""
    name = exercise.dataset.get("name")
    if exercise.dataset.get("source", "registry") == "exercise" or not name:
        return None
    return dataclasses.replace(datasets.locate(name, data_dir), held_back=exercise.dataset.get("held_back", 0.0))


def locate_all(exercise: Exercise, data_dir: Path | None = None) -> tuple:
    """(the dataset, {name: the weights files it serves (``[dataset] pretrained``)}), found offline. Raises
    DataError, before any work, naming every one that is missing at once."""
    found, missing = {}, []
    for name in [None, *(exercise.dataset.get("pretrained") or [])]:
        try:
            found[name] = locate_data(exercise, data_dir) if name is None else datasets.locate(name, data_dir)
        except datasets.DataError as exc:
            missing.append(str(exc))
    if missing:
        raise datasets.DataError(" ".join(missing))
    located = found.pop(None)
    return located, found


def staging(exercise: Exercise, located, pretrained: dict):
    """``stage(workdir) -> Staged`` for the child: the dataset's copy, and the pretrained weights beside it."""
    if located is None and not pretrained:
        return None

    def stage(workdir):
        staged = located.dataset.stage(located, workdir).also_at(exercise.dataset.get("paths") or []) \
            if located else datasets.Staged()
        for loc in pretrained.values():
            staged.merged(loc.dataset.stage(loc, workdir))
        return staged

    return stage


def private_folders(located, data_dir) -> list[Path]:
    """What the student's process must not see: every exercise folder (hidden specs, reference
    solutions), the dataset folders (held-out splits) and the grader's cache."""
    folders = [path for path in exercises_module.exercises().values()]
    folders += [root for root, _ in datasets.roots(data_dir)]
    if located is not None:
        folders.append(located.root)
    folders.append(datasets.cache_dir())
    return folders


def grade(exercise: Exercise, submission: Path, *, time_limit: float | None = None,
          seed: int | None = None, runs: int | None = None, data_dir: Path | None = None,
          progress=None, seeded: bool = True, deadline=None) -> Report:
    """Grade one submission. With ``runs`` (or the exercise's ``runs``) above 1 the program is trained
    that many times with seeds seed, seed+1, ... (in parallel where cores allow) and each check is
    graded on its median run. ``seeded=False`` leaves the run unseeded (the benchmark's baseline).
    ``deadline`` (a ``grader.deadline.Deadline``) is armed once the last run's program has ended.
    Raises SubmissionError or DataError when it cannot be graded at all."""
    started = time.time()
    source = load_submission(submission, exercise.graded_cells_only)
    located, pretrained = locate_all(exercise, data_dir)
    stage = staging(exercise, located, pretrained)
    limit = float(time_limit if time_limit is not None else exercise.time_limit)
    first_seed = exercise.seed if seed is None else seed
    count = exercise.runs if runs is None else runs
    seeds = [first_seed + i if seeded else None for i in range(count)]
    hide = private_folders(located, data_dir)
    keras = runtime.choose(source.text, exercise.runtime, source.locate)
    task = dataclasses.replace(runner.Task.of(exercise), runtime=keras.name)
    limits = runner.Limits.of(exercise, limit)

    ended: set = set()

    def child_ended(i: int):
        ended.add(i)  # one thread per run adds its own index
        if deadline is not None and len(ended) == count:  # from here on, only the grader's own work
            deadline.arm()

    def train(i: int):
        try:
            return runner.run_submission(source, task, limits, seed=seeds[i], stage=stage, hide=hide,
                                         progress=_tagged(progress, i, count), on_exit=lambda: child_ended(i))
        finally:
            child_ended(i)  # a run that never started its child

    graded: list = [None] * count
    # The evaluator starts with the training, so its Keras import costs CPU the training leaves idle.
    evaluator = evaluators.acquire(EvalLimits.of(exercise), keras.name)
    try:
        if count == 1:
            run = train(0)
            if progress:
                progress({"phase": "evaluating the trained model"})
            graded[0] = _evaluate(exercise, run, source, located, evaluator, pretrained)
        else:
            # All runs start together, up to two per core: a run spends much of its time importing
            # TensorFlow and saving, so interleaving beats waiting (measured: benchmarks/bench.py
            # --fairness). Evaluation (one model at a time, in the evaluator) overlaps the runs still training.
            with ThreadPoolExecutor(max_workers=min(count, 2 * (os.cpu_count() or 1))) as pool:
                futures = {pool.submit(train, i): i for i in range(count)}
                for future in as_completed(futures):
                    graded[futures[future]] = _evaluate(exercise, future.result(), source, located, evaluator,
                                                         pretrained)
    finally:
        evaluators.release(evaluator)
    results, chosen = _combine(exercise, graded, seeds)
    run, trace, model = graded[chosen]["run"], graded[chosen]["run"].trace, graded[chosen]["model"]
    environment = {"seed": seeds[chosen], "seeds": seeds, "runs": count, **(trace.get("versions") or {}),
                   "runtime": dict(keras.as_dict(), signs=_located(keras.signs, source))}
    environment["determinism"] = determinism_statement(trace.get("determinism") or {}, count)
    environment["training_record"] = graded[chosen]["record"]
    environment["training_verification"] = graded[chosen]["verification"]
    return Report(
        exercise=exercise.name,
        title=exercise.title,
        submission=str(submission),
        checks=results,
        training=dict(_training_summary(trace, source), thresholds=chart_thresholds(exercise)),
        run=_run_summary(run, source),
        limits={"time_limit_s": limit, "max_epochs": exercise.max_epochs,
                "time_used_s": round(run.duration_s, 3),
                "evaluation_time_limit_s": evaluator.limits.time_s, "evaluation_time_s": round(evaluator.used_s, 3),
                "evaluation_memory_limit_mib": evaluator.limits.memory_mib,
                "epochs_used": max([f["epochs_run"] for f in trace.get("fits") or []] or [0])},
        dataset=dict({"name": located.dataset.name, "source": located.origin, "path": str(located.path),
                      "synthetic": located.synthetic} if located else
                     {"name": exercise.dataset.get("name", exercise.name), "source": "exercise", "synthetic": False},
                     **({"pretrained": [{"name": name, "source": loc.origin, "path": str(loc.path),
                                         "synthetic": loc.synthetic} for name, loc in pretrained.items()]}
                        if pretrained else {})),
        model=model,
        legacy=_located(trace.get("legacy") or [], source),
        data_access=_located(trace.get("data_access") or [], source),
        environment=environment,
        duration_s=time.time() - started,
        grader_errors=[f"{r.name}: {r.message}" for r in results if r.status == "error"]
        + graded[chosen]["hint_errors"],
        diagnoses=graded[chosen]["hints"],
        runs=[{"seed": seeds[i], "score": round(sum(r.score for r in g["results"]), 4), "status": g["run"].status,
               "duration_s": round(g["run"].duration_s, 3), "graded": i == chosen} for i, g in enumerate(graded)]
        if count > 1 else [],
    )


def _tagged(progress, index: int, count: int):
    """Progress events of one of several runs carry which run they come from."""
    if progress is None or count == 1:
        return progress
    return lambda event: progress(dict(event, run=index + 1, runs=count))


def _evaluate(exercise: Exercise, run: runner.RunResult, source, located, evaluator: evaluators.Evaluator,
              pretrained: dict | None = None) -> dict:
    """Check one run's trained model (trusted side); the run's artifacts are gone afterwards."""
    evidence = evaluate.Evidence(exercise, run, source, located, evaluator, pretrained)
    try:
        types = plugins.check_types()
        results = [run_check(types[c.type], c, evidence) for c in exercise.checks]
        try:
            verification = training_proof.verdict(evidence)  # after the checks: replays take time of their own
        except Exception as exc:  # (a fault of the grader's own: the grades stand, the training is unverified)
            verification = training_proof.unverifiable(
                f"the grader's own check of training failed ({type(exc).__name__}: {str(exc)[:200]}); please report it")
        verification["cost"] = training_proof.cost(evidence, verification)
        results = training_proof.apply(verification, exercise, types, results)
        hints, hint_errors = run_diagnoses(plugins.diagnoses(), evidence, results)
        record = evidence.record()
        model = dict(evidence.model_info)
        model["layers"] = evidence.layer_summary()
    finally:
        if run.artifacts:
            workfolders.remove_tree(run.artifacts)
    return {"run": run, "results": results, "model": model, "hints": hints, "hint_errors": hint_errors,
            "record": record, "verification": verification}


def _median_index(keys: list) -> int:
    """The index of the median of ``keys``; with an even count, the better of the two middle ones."""
    order = sorted(range(len(keys)), key=lambda i: (keys[i], -i))
    return order[len(keys) // 2]


def _combine(exercise: Exercise, graded: list, seeds: list) -> tuple[list, int]:
    """One result per check, each the check's median over the runs (ordered by score, then by how far
    the measured value is from the line), with every run's value attached; and the run whose total
    score is the median, whose training, output and model the report shows."""
    totals = [sum(r.score for r in g["results"]) for g in graded]
    chosen = _median_index(totals)
    if len(graded) == 1:
        return graded[0]["results"], chosen
    combined = []
    for k, check in enumerate(exercise.checks):
        per_run = [g["results"][k] for g in graded]
        pick = _median_index([(r.score, r.slack if r.slack is not None else 0.0) for r in per_run])
        result = dataclasses.replace(per_run[pick])
        result.runs = [{"seed": seeds[i], "status": r.status, "score": r.score, "got": r.got, "slack": r.slack}
                       for i, r in enumerate(per_run)]
        passes = sum(r.status == "passed" for r in per_run)
        if check.hidden or all(r.got is None for r in per_run):
            spread = (f"It passed in {passes} of {len(per_run)} trainings with seeds {seeds[0]}..{seeds[-1]}; "
                      "graded on the median.")
        else:
            values = ", ".join(_shown(r.got) for r in per_run)
            spread = (f"Across {len(per_run)} trainings with seeds {seeds[0]}..{seeds[-1]}: {values} "
                      f"({passes} passed); graded on the median (seed {seeds[pick]}).")
        result.message = f"{result.message} {spread}"
        combined.append(result)
    return combined, chosen


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, list) and len(value) == 1:
        return _shown(value[0])
    return "n/a" if value is None else str(value)


def determinism_statement(det: dict, runs: int) -> dict:
    """What the seed guarantees for this grading, said plainly (op determinism can be unavailable)."""
    caveats = list(det.get("caveats") or [])
    if det.get("op_determinism") is False:
        caveats.insert(0, f"TensorFlow could not be made deterministic here ({det.get('reason', 'unknown reason')})")
    for s in det.get("student_seeds") or []:
        caveats.append(f"your program sets its own seed ({s['call']}({s['value']}) at line {s.get('line') or '?'}), "
                       "which replaces the grader's from that point")
    deterministic = bool(det) and det.get("seed") is not None and det.get("op_determinism") is not False and \
        not det.get("parallel_data")
    if deterministic:
        text = ("Seeded and deterministic: grading this program again with the same seed on the same machine "
                "gives the same training.")
    elif not det:
        text = "The program ended before TensorFlow was set up, so no seed was applied."
    elif det.get("seed") is None:
        text = "Not seeded: grading this program again can give different numbers."
    else:
        text = "Not deterministic: grading this program again with the same seed can give different numbers."
    if runs > 1:
        text += f" It was trained {runs} times with different seeds and each check graded on the median."
    return {"deterministic": deterministic, "statement": text, "caveats": caveats}

"""One grading, end to end: load, run (child), evaluate (trusted), check, build the report."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from grader import datasets, evaluate, plugins, runner
from grader.checks import run_check
from grader import exercise as exercises_module
from grader.exercise import Exercise
from grader.results import Report
from grader.submission import load_submission


def _training_summary(trace: dict) -> dict:
    fits = []
    for f in trace.get("fits") or []:
        fits.append({k: f.get(k) for k in (
            "index", "line", "epochs_requested", "epochs_allowed", "epochs_run", "capped", "stopped_by",
            "limit_hit", "history", "epoch_times", "data", "validation", "callbacks", "fast_path", "duration_s",
            "error")})
    return {"fits": fits, "epochs_run": sum(f["epochs_run"] or 0 for f in fits)}


def chart_thresholds(exercise: Exercise) -> dict:
    """Thresholds the public checks compare a logged metric with, drawn on the charts."""
    return {c.params["metric"]: c.params["threshold"] for c in exercise.public_checks
            if isinstance(c.params.get("metric"), str) and isinstance(c.params.get("threshold"), (int, float))}


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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


def _run_summary(run: runner.RunResult) -> dict:
    trace = run.trace
    return {
        "status": run.status,
        "exit_code": run.exit_code,
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
    }


def locate_data(exercise: Exercise, data_dir: Path | None = None):
    """The exercise's dataset, found offline (None when the exercise carries its own data).
    Raises DataError, before any work, when it is missing."""
    name = exercise.dataset.get("name")
    if exercise.dataset.get("source", "registry") == "exercise" or not name:
        return None
    return datasets.locate(name, data_dir)


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
          seed: int | None = None, data_dir: Path | None = None, progress=None) -> Report:
    """Grade one submission. Raises SubmissionError or DataError when it cannot be graded at all."""
    started = time.time()
    source = load_submission(submission, exercise.graded_cells_only)
    located = locate_data(exercise, data_dir)
    stage = (lambda workdir: located.dataset.stage(located, workdir)) if located else None
    limit = float(time_limit if time_limit is not None else exercise.time_limit)
    use_seed = exercise.seed if seed is None else seed
    warm = evaluate.warm_up()  # import Keras here while the child trains
    run = runner.run_submission(source, time_limit=limit, max_epochs=exercise.max_epochs, seed=use_seed,
                                entry_point=exercise.entry_point, entry_args=exercise.entry_args,
                                model_variable=exercise.model_variable, stage=stage,
                                memory_mib=exercise.memory_mib, max_tasks=exercise.max_processes,
                                max_file_bytes=exercise.max_file_mib * 2**20, disk_mib=exercise.disk_mib,
                                network=exercise.network,
                                hide=private_folders(located, data_dir), progress=progress,
                                continue_after_error=exercise.continue_after_error)
    if progress:
        progress({"phase": "evaluating the trained model"})
    warm.join()
    evidence = evaluate.Evidence(exercise, run, source, located)
    try:
        types = plugins.check_types()
        results = [run_check(types[c.type], c, evidence) for c in exercise.checks]
        model = dict(evidence.model_info)
        model["layers"] = evidence.layer_summary()
    finally:
        evidence.close()
        if run.artifacts:
            shutil.rmtree(run.artifacts, ignore_errors=True)
    trace = run.trace
    return Report(
        exercise=exercise.name,
        title=exercise.title,
        submission=str(submission),
        checks=results,
        training=dict(_training_summary(trace), thresholds=chart_thresholds(exercise)),
        run=_run_summary(run),
        limits={"time_limit_s": limit, "max_epochs": exercise.max_epochs,
                "time_used_s": round(run.duration_s, 3),
                "epochs_used": max([f["epochs_run"] for f in trace.get("fits") or []] or [0])},
        dataset=({"name": located.dataset.name, "source": located.origin, "path": str(located.path),
                  "synthetic": located.synthetic} if located else
                 {"name": exercise.dataset.get("name", exercise.name), "source": "exercise", "synthetic": False}),
        model=model,
        legacy=trace.get("legacy") or [],
        data_access=trace.get("data_access") or [],
        environment={"seed": use_seed, **(trace.get("versions") or {})},
        duration_s=time.time() - started,
        grader_errors=[f"{r.name}: {r.message}" for r in results if r.status == "error"],
    )

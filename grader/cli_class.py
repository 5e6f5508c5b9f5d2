"""The ``grader`` commands that grade a whole class: ``batch`` (every student's submission into one
folder of reports, a gradebook and a dashboard) and ``merge`` (the folders of sharded batch runs into one).
Registered on the ``grader`` group by grader/cli.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from grader import safetext
from grader.cli import EXIT_INTERNAL, UserError, _exercise
from grader.output import check_writable
from grader.terminal import BatchProgress, say

DEFAULT_WORKERS = os.cpu_count() or 1  # measured fastest here: benchmarks/bench.py --batch (README)


@click.command()
@click.argument("exercise")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Folder for the reports, gradebook and dashboard.")
@click.option("--workers", type=click.IntRange(min=1), help="Gradings at once (default: the number of cores, the fastest measured).")
@click.option("--resume", is_flag=True, help="Skip students whose submission and exercise spec are unchanged since their last report.")
@click.option("--shard", metavar="K/N", help="Grade only the K-th of N deterministic slices of the class (CI matrices).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where gradings run: processes on this machine, or a Dask distributed cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler's address, with --executor dask.")
@click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML: a testsuite per student, a testcase per check.")
@click.option("--report", "extra_reports", metavar="NAME=FILE", multiple=True,
              help="Also write reporter NAME's report as FILE in each student's folder (repeatable).")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help="Where datasets are (as for grade).")
@click.option("--time-limit", type=click.FloatRange(min=1), metavar="SECONDS", help="Wall-clock limit per grading (overrides the exercise's).")
@click.option("--seed", type=int, metavar="N", help="Random seed (default: the exercise's).")
@click.option("--runs", type=click.IntRange(min=1), metavar="N", help="Trainings per student, graded on the median (default: the exercise's).")
@click.option("--allow-weak-sandbox", is_flag=True,
              help="Grade the class even where the full sandbox (bubblewrap) cannot run; every report names the mode.")
def batch(exercise, submissions, out, workers, resume, shard, executor, scheduler, junit_path, extra_reports, data_dir,
          time_limit, seed, runs, allow_weak_sandbox):
    """Grade every student's submission in SUBMISSIONS (one file, or one sub-folder with one .py/.ipynb,
    per student; the name is the student id) into OUT: per-student reports, gradebook.csv,
    summary.json and index.html (the class dashboard).

    Exit code: 0 when every submission was graded, whatever the scores; 2 usage error; 3 when the
    grader itself failed on any submission (they are listed); 130 when interrupted (finished
    students are kept: run again with --resume).
    """
    from grader import batch as batch_module
    from grader import batch_outputs
    from grader.grading import locate_all

    ex = _exercise(exercise)
    locate_all(ex, data_dir)
    from grader import sandbox

    if executor == "local" and not allow_weak_sandbox and not sandbox.full_sandbox_here():
        why, fix = (("GRADER_ISOLATION asks for less", "Unset GRADER_ISOLATION")
                    if os.environ.get("GRADER_ISOLATION", "auto") != "auto" else
                    ("bubblewrap (`bwrap`) is not available here", "Install it (apt-get install bubblewrap)"))
        raise UserError(f"grader batch grades a class only in the full sandbox, and {why}: a student's program could "
                        f"read other students' work and the hidden checks. {fix}, or add --allow-weak-sandbox to "
                        "grade in the weaker mode anyway (every report names it).")
    skipped: list[str] = []
    try:
        students = batch_module.shard(batch_module.discover(submissions, skip=out, skipped=skipped), shard)
    except batch_module.BatchError as exc:
        raise UserError(str(exc)) from None
    try:
        batch_outputs.check_out_folder(out, ex)
    except batch_module.BatchError as exc:
        raise UserError(str(exc)) from None
    reports = _batch_reports(extra_reports, batch_module)
    if junit_path:
        _check_junit(Path(junit_path), out, submissions)
    try:
        (out / "students").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create the output folder there ({exc.strerror}); give a folder "
                        "path (it is created if missing).") from None
    options = {"data_dir": str(data_dir.resolve()) if data_dir else None, "time_limit": time_limit, "seed": seed,
               "runs": runs, "reports": reports}
    if skipped:
        say(f"Skipped, not a .py or .ipynb file or a student's folder: {safetext.one_line(', '.join(skipped))}")
    mapped = [s for s in students if s.folder_name != s.id]
    if mapped:
        say("Student ids that are not safe folder names keep a folder of their own:")
        for s in mapped:
            say(f"  {safetext.one_line(repr(s.id))} -> {out / 'students' / s.folder_name}")
    workers = workers or DEFAULT_WORKERS
    progress = BatchProgress(sys.stderr.isatty(), workers)
    interrupted = False
    try:
        batch_module.run_batch(ex, students, out, workers=workers, options=options, resume=resume,
                               executor=executor, scheduler=scheduler, progress=progress, shard=shard)
    except batch_module.BatchError as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    rows, summary = batch_outputs.write_outputs(out, junit_path, only={s.folder_name for s in students},
                                                class_size=len(students))
    graded = sum(r["status"] == "graded" for r in rows)
    mean = summary["mean_score"] if summary["mean_score"] is not None else "-"
    click.echo(f"{ex.title}: {graded} of {len(students)} graded; mean {mean} of {summary['max_score']:g}; "
               f"dashboard {out / 'index.html'}, gradebook {out / 'gradebook.csv'}")
    if summary.get("left_out"):
        say(f"  {len(summary['left_out'])} student folder(s) in {out / 'students'} are not in this class any more and "
            f"are left out of the gradebook: {safetext.one_line(', '.join(summary['left_out']))}")
    for r in rows:
        if r["status"] == "invalid":
            say(f"  invalid submission: {safetext.one_line(r['student'])}: {safetext.one_line(r['message'])}")
    failed = [r for r in rows if r["status"] == "grader_error"]
    if interrupted:
        click.echo(f"grader: interrupted; {len(rows)} of {len(students)} students are finished and kept. "
                   "Run the same command with --resume to grade the rest.", err=True)
        sys.exit(130)
    if failed:
        say("grader: the grader itself failed on: " + "; ".join(
            f"{safetext.one_line(r['student'])} ({safetext.one_line(r['message'])})" for r in failed)
            + ". The same command with --resume grades them again.", err=True)
        sys.exit(EXIT_INTERNAL)


def _batch_reports(extra_reports, batch_module) -> list[str]:
    """The ``--report NAME=FILE`` items, each checked: a registered reporter, a plain file name that no
    standard file and no other --report has."""
    from grader.plugins import reporters

    writers = reporters()
    seen: dict[str, str] = {}
    for item in extra_reports:
        name, sep, filename = item.partition("=")
        if not sep or not name or not filename:
            raise UserError(f"--report {item}: give NAME=FILE, e.g. --report github-classroom=classroom.txt.")
        if name not in writers:
            raise UserError(f"--report {item}: no reporter named '{name}'. Known reporters: "
                            f"{', '.join(sorted(writers))}.")
        if "/" in filename or "\\" in filename or filename in (".", ".."):
            raise UserError(f"--report {item}: FILE is written in each student's folder, so give a plain file name "
                            f"(like {Path(filename).name or 'report.txt'}), not a path.")
        if filename in (*batch_module.REPORT_FILES, "meta.json"):
            raise UserError(f"--report {item}: {filename} is one of the files every student's folder already "
                            "holds; give another file name.")
        if filename in seen:
            raise UserError(f"--report {item}: --report {seen[filename]} writes {filename} too; give each its own "
                            "file name.")
        seen[filename] = item
    return list(extra_reports)


def _check_junit(path: Path, out: Path, submissions: Path):
    """--junit may not replace a student's submission or the batch's own files, and must be writable:
    said before any grading."""
    resolved, out_r, subs_r = path.resolve(), out.resolve(), submissions.resolve()
    if resolved == subs_r or subs_r in resolved.parents:
        raise UserError(f"--junit {path} is inside the submissions folder {submissions}; write it elsewhere "
                        "(e.g. next to --out).")
    if resolved.parent == out_r and resolved.name in ("gradebook.csv", "summary.json", "index.html", "batch.json") \
            or out_r / "students" in (resolved, *resolved.parents):
        raise UserError(f"--junit {path} would replace one of the batch's own files in {out}; give another name "
                        f"(e.g. {out / 'junit.xml'}).")
    problem = check_writable(path, "JUnit")
    if problem:
        raise UserError(f"--junit: {problem}")


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.argument("shards", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--junit", "junit_path", metavar="PATH", help="Also write JUnit XML for the whole class.")
def merge(out, shards, junit_path):
    """Merge the --out folders of `grader batch --shard K/N` runs into OUT and rebuild the gradebook,
    summary and dashboard for the whole class."""
    from grader import batch_outputs
    from grader.batch import BatchError

    if junit_path:
        _check_junit(Path(junit_path), out, Path(shards[0]) / "students")
    try:
        copied = batch_outputs.merge(out, list(shards))
    except BatchError as exc:
        raise UserError(str(exc)) from None
    rows, summary = batch_outputs.write_outputs(out, junit_path)
    click.echo(f"Merged {copied} students from {len(shards)} shard(s) into {out}: {summary['graded']} graded, "
               f"{len(summary['errors'])} not graded.")
    missing = batch_outputs.missing_shards(list(shards))
    if missing:
        say(f"grader: shard(s) {missing} of the class were not given, so the merged gradebook lacks their students.",
            err=True)
    if summary["grader_errors"]:
        sys.exit(EXIT_INTERNAL)

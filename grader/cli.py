"""The ``grader`` command."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import click

from grader import __version__
from grader.terminal import LiveProgress, print_summary, stdout_closed
from grader.checks import plural
from grader.deadline import Deadline, overrun_sentence
from grader.output import check_writable

EXIT_FULL, EXIT_PARTIAL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UserError(click.ClickException):
    """A usage or configuration problem (unknown exercise, missing file, missing dataset): exit 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None):
        click.echo(f"grader: {self.format_message()}", err=True)


class GraderGroup(click.Group):
    """Turns the grader's own unexpected failures into a short message and exit code 3."""

    def invoke(self, ctx):
        from grader.datasets import DataError
        from grader.exercise import ExerciseError
        from grader.plugins import PluginError
        from grader.submission import SubmissionError

        try:
            return super().invoke(ctx)
        except (SubmissionError, ExerciseError, PluginError, DataError) as exc:
            raise UserError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `grader list | head -1`: the reader had enough, as with any Unix tool
            stdout_closed()
            sys.exit(0)
        except Exception:
            # a file of its own, made new (never a name in /tmp that a program graded earlier could have
            # planted as a link or a FIFO)
            fd, log = tempfile.mkstemp(prefix="grader-internal-error-", suffix=".log")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(traceback.format_exc())
            click.echo(f"grader: internal error of the grader (not your code): {sys.exc_info()[1]!r}. "
                       f"Details in {log}; please report it.", err=True)
            sys.exit(EXIT_INTERNAL)


@click.group(cls=GraderGroup)
@click.version_option(__version__, prog_name="grader")
@click.option("--exercises", "exercise_paths", multiple=True, type=click.Path(path_type=Path),
              help="An exercise folder, or a folder of them, to use besides the installed ones (repeatable; "
                   "also GRADER_EXERCISES_PATH).")
def cli(exercise_paths):
    """Grade TensorFlow/Keras training exercises."""
    for path in exercise_paths:
        if not path.is_dir():
            raise UserError(f"--exercises {path}: no such folder; give an exercise folder (with spec.toml) "
                            "or a folder of them.")
    if exercise_paths:  # the environment carries it to batch workers and to `grader` processes started later
        known = [p for p in os.environ.get("GRADER_EXERCISES_PATH", "").split(os.pathsep) if p]
        os.environ["GRADER_EXERCISES_PATH"] = os.pathsep.join([str(p.resolve()) for p in exercise_paths] + known)


def _exercise(name):
    from grader.exercise import get_exercise

    return get_exercise(name)


@cli.command("list")
def list_exercises():
    """List the exercises, with title and points."""
    from grader.exercise import exercises, load_exercise

    for name, path in sorted(exercises().items()):
        ex = load_exercise(path)
        click.echo(f"{name:<24} {ex.max_score:>4g} points  {ex.title}")


@cli.command()
@click.argument("exercise")
def show(exercise):
    """Print an exercise's task, limits and public checks (never a hidden value)."""
    ex = _exercise(exercise)
    click.echo(ex.readme().rstrip())
    held = ex.dataset.get("held_back")
    if held:
        from grader.plugins import datasets as registered

        ds = registered().get(ex.dataset.get("name"))
        copy, noun, split = (ds.evaluation_copy, ds.examples, ds.held_from) if ds else \
            ("your validation/ folder", "images", "validation")
        click.echo(f"\nData\n  {held:.0%} of the {ex.dataset.get('name')} {split + ' ' if split else ''}{noun} (per "
                   f"class, the same ones every time) are held back from your program: {copy} holds the other "
                   f"{1 - held:.0%}, and {split + ' ' if split else ''}accuracy is graded on the held-back {noun}.")
    click.echo("\nLimits")
    click.echo(f"  time: {ex.time_limit:g} s for the whole program")
    if ex.max_epochs:
        click.echo(f"  epochs: at most {ex.max_epochs} per call to model.fit")
    click.echo("\nTraining")
    if ex.verify:
        unverifiable = "fail" if ex.unverifiable == "fail" else "are graded as your program reported them"
        click.echo("  verified: while your program trains, the grader keeps the states of your model it reports;\n"
                   "  then it trains parts of it again from them and checks that they reach the same weights.\n"
                   "  Training it cannot verify (a loop of your own, for one): the checks that rest on how\n"
                   f"  training went {unverifiable}.")
    else:
        click.echo("  not verified in this exercise: the checks that rest on how training went are graded as\n"
                   "  your program reported it.")
    click.echo("\nChecks")
    for c in ex.public_checks:
        click.echo(f"  {c.points:>3g} {'point ' if c.points == 1 else 'points'}  {c.title}")
    hidden = [c for c in ex.checks if c.hidden]
    if hidden:
        points = sum(c.points for c in hidden)
        click.echo(f"  {points:>3g} {'point ' if points == 1 else 'points'}  in {plural(len(hidden), 'hidden check')}, "
                   "run on inputs you are not shown")
    click.echo(f"\nTotal: {ex.max_score:g} points")


@cli.command()
@click.argument("exercise")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
def init(exercise, dest, force):
    """Write the exercise's starter file to DEST for a student to fill in (DEST.ipynb: as a notebook)."""
    ex = _exercise(exercise)
    if not ex.starter.is_file():
        raise UserError(f"Exercise '{exercise}' has no starter file.")
    if dest.is_dir():
        dest = dest / f"{exercise}.py"
    if dest.exists() and not force:
        raise UserError(f"{dest} already exists; choose another name or pass --force to overwrite it.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.suffix == ".ipynb":  # the same starter as a notebook, for Jupyter and Colab
        from grader.authoring import starter_notebook

        dest.write_text(starter_notebook(ex), encoding="utf-8")
    else:
        shutil.copyfile(ex.starter, dest)
    click.echo(f"Wrote the starter for '{exercise}' to {dest}. Fill in the TODOs, then run:\n"
               f"  grader grade {exercise} {dest}")


def report_paths(shorthands: dict, extra: tuple, writers: dict) -> list:
    """(reporter name, path) pairs, from the shorthand flags and ``--report NAME=PATH`` (a reporter may
    write to several paths), each checked before any training: an unknown reporter or a path that
    cannot be written is a usage error at once."""
    paths = [(name, path) for name, path in shorthands.items() if path]
    for item in extra:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--report {item}: give NAME=PATH, e.g. --report junit=results.xml.")
        if (name, path) not in paths:
            paths.append((name, path))
    for name, path in paths:
        if name not in writers:
            raise UserError(f"--report {name}=...: no reporter named '{name}'. Known reporters: "
                            f"{', '.join(sorted(writers))}.")
        problem = check_writable(path, name)
        if problem:  # before any training: a wrong path must not cost minutes of it
            raise UserError(problem)
    return paths


@cli.command()
@click.argument("exercise")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--json", "json_path", metavar="PATH", help="Write the JSON report here ('-' for stdout).")
@click.option("--html", "html_path", metavar="PATH", help="Write the HTML feedback page here.")
@click.option("--junit", "junit_path", metavar="PATH", help="Write JUnit XML (one testcase per check) here.")
@click.option("--gradescope", "gradescope_path", metavar="PATH", help="Write Gradescope results.json here.")
@click.option("--github-classroom", "classroom_path", metavar="PATH",
              help="Append GitHub Classroom's result=BASE64 line here (in a workflow: $GITHUB_OUTPUT).")
@click.option("--report", "extra_reports", metavar="NAME=PATH", multiple=True,
              help="Write the report of any registered reporter NAME to PATH (repeatable; see `grader plugins`).")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help="Where datasets are (default: GRADER_DATA_DIR, then ~/.keras/datasets).")
@click.option("--time-limit", type=click.FloatRange(min=1), metavar="SECONDS", help="Wall-clock limit in seconds (overrides the exercise's).")
@click.option("--seed", type=int, metavar="N", help="Random seed for the student's run (default: the exercise's).")
@click.option("--runs", type=click.IntRange(min=1), metavar="N", help="Train this many times (seeds SEED, SEED+1, ...) and grade "
              "each check on its median run (default: the exercise's, usually 1).")
@click.option("--public-only", is_flag=True, help="Run only the public checks (what a student can run at home).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--submission-name", hidden=True, metavar="NAME",
              help="The name the reports give the submission (grader batch: the student's own file name).")
def grade(exercise, submission, json_path, html_path, junit_path, gradescope_path, classroom_path, extra_reports,
          data_dir, time_limit, seed, runs, public_only, quiet, submission_name):
    """Grade SUBMISSION (.py or .ipynb) against EXERCISE.

    Exit code: 0 full marks, 1 graded without full marks, 2 usage error, 3 grader error.
    """
    from grader.grading import grade as run_grade
    from grader.grading import locate_all
    from grader.plugins import reporters
    from grader.submission import SubmissionError, load_submission

    ex = _exercise(exercise)
    if public_only:
        import dataclasses

        ex = dataclasses.replace(ex, checks=ex.public_checks)
    writers = reporters()
    paths = report_paths({"json": json_path, "html": html_path, "junit": junit_path, "gradescope": gradescope_path,
                          "github-classroom": classroom_path}, extra_reports, writers)
    try:
        load_submission(submission, ex.graded_cells_only)  # a file that cannot be graded is a usage error, at once
    except SubmissionError as exc:
        # CI platforms still get a result: 0 points and the reason (a missing file is the student's to fix)
        _write_not_graded(ex, submission_name or str(submission), f"Your submission could not be graded: {exc}",
                          [(name, path) for name, path in paths if path != "-"], writers)
        raise
    locate_all(ex, data_dir)  # so is a missing dataset
    live = None if quiet or json_path == "-" or not sys.stderr.isatty() else LiveProgress()
    deadline = Deadline(ex.grading_time, lambda seconds: _overrun(ex, submission_name or str(submission), paths,
                                                                  writers, seconds))
    try:
        report = run_grade(ex, submission, time_limit=time_limit, seed=seed, runs=runs, data_dir=data_dir,
                           progress=live, deadline=deadline)
        _finish(report, paths, writers, live, quiet, json_path, submission_name)
    finally:
        deadline.cancel()


def _overrun(ex, shown: str, paths, writers, seconds: float):
    """The grader's own time ran out after the program ended: every requested report says so (each check
    an error, not a failure: nothing was judged), and the terminal too."""
    why = overrun_sentence(seconds)
    _write_not_graded(ex, shown, why, paths, writers, status="error")
    click.echo(f"grader: {why}", err=True)
    if sys.stderr is not sys.__stderr__ and sys.__stderr__ is not None:  # a batch worker captures stderr per job
        print(f"grader: {why}", file=sys.__stderr__, flush=True)


def _write_not_graded(ex, shown: str, why: str, paths, writers, status: str = "failed"):
    """Every requested report for a submission not graded, saying why (one broken reporter does not cost
    the others theirs)."""
    from grader.results import Report

    unread = Report.not_graded(ex, shown, why, status=status)
    for name, path in paths:
        try:
            writers[name](unread, path)
        except Exception:
            pass


def _finish(report, paths, writers, live, quiet, json_path, submission_name):
    """Print the summary, write every requested report and end with the grade's exit code."""
    if live:
        live.done()
    if submission_name:
        report.submission = submission_name
    if not quiet and json_path != "-":
        print_summary(report)
    failures = list(report.grader_errors)
    for name, path in paths:
        try:  # one broken reporter must not cost the others
            writers[name](report, path)
        except OSError as exc:
            raise UserError(f"Cannot write the {name} report to {path}: {exc.strerror}.") from None
        except Exception as exc:
            failures.append(f"the {name} reporter failed: {type(exc).__name__}: {exc}")
            continue
        if not quiet and path != "-":
            click.echo(f"Wrote {name} report to {path}", err=True)
    if failures:
        click.echo("grader: internal error of the grader (not your code): " + "; ".join(failures), err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_FULL if report.score >= report.max_score else EXIT_PARTIAL)


@cli.group()
def exercise():
    """Instructor commands for exercises."""


@exercise.command()
@click.argument("name")
@click.option("--time-limit", type=click.FloatRange(min=1), metavar="SECONDS", help="Wall-clock limit per grading.")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help="Where datasets are (as for grade).")
def verify(name, time_limit, data_dir):
    """Check that an exercise is sound: the solution gets full marks, the starter does not,
    and each bad/ variant fails the check it names. Exit 0 if sound, 1 if not."""
    from grader.grading import locate_all
    from grader.verify import verify_exercise

    ex = _exercise(name)
    locate_all(ex, data_dir)
    problems = 0
    for row in verify_exercise(ex, time_limit=time_limit, data_dir=data_dir, echo=lambda s: click.echo(s)):
        problems += not row.ok
    if problems:
        click.echo(f"{name}: NOT SOUND ({problems} problem(s) above).")
        sys.exit(EXIT_PARTIAL)
    click.echo(f"{name}: sound.")


@exercise.command("new")
@click.argument("name")
@click.argument("dest", type=click.Path(path_type=Path))
def exercise_new(name, dest):
    """Write a new exercise NAME into DEST/NAME from the scaffold: public and hidden spec, starter,
    a solution to fill in, README and one bad/ example."""
    from grader.authoring import new_exercise

    target = new_exercise(name, dest)
    click.echo(f"Wrote the exercise {name} to {target}. Write the reference solution in {target / 'solution.py'}, "
               f"adapt the spec, then run:\n  grader --exercises {dest} exercise verify {name}")


@exercise.command("gradescope")
@click.argument("name")
@click.argument("zip_path", type=click.Path(path_type=Path), metavar="ZIP")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Where the exercise's dataset is (as for grade); it is copied into the bundle.")
@click.option("--timeout", "timeout_s", type=click.IntRange(min=60), default=600, show_default=True, metavar="SECONDS",
              help="The assignment's autograder timeout on Gradescope; the program's time limit stays under it.")
def exercise_gradescope(name, zip_path, data_dir, timeout_s):
    """Write Gradescope's autograder bundle for exercise NAME to ZIP: setup.sh, run_autograder, this
    grader's source, the exercise (hidden checks included) and its dataset. Upload ZIP as the
    assignment's autograder (Configure Autograder > Zip file upload)."""
    from grader import gradescope

    ex = _exercise(name)
    info = gradescope.build(ex, zip_path, data_dir, timeout_s)
    data = f"; dataset {info['data']}{' (a stand-in)' if info['stand_in'] else ''}" if info["data"] else ""
    click.echo(f"Wrote {zip_path}: exercise {ex.name}{' with its course plugin.py' if info['course'] else ''}, "
               f"time limit {info['time_limit']:g} s under Gradescope's {timeout_s} s{data}.")


@exercise.command("release")
@click.argument("name")
@click.argument("dest", type=click.Path(path_type=Path))
def exercise_release(name, dest):
    """Write the student bundle of NAME into DEST/NAME: README, starter, public spec and how to run
    the public checks. Refused (nothing written) if a hidden value or a solution line would leak."""
    from grader.authoring import release

    target = release(_exercise(name), dest)
    click.echo(f"Released {name} to {target}: {', '.join(sorted(p.name for p in target.iterdir()))}.")


DATA_DIR_HELP = "Dataset root to use (default: GRADER_DATA_DIR, then ~/.keras/datasets)."


@cli.group()
def data():
    """Datasets: where they are, import, download, stand-ins."""


@data.command("status")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help=DATA_DIR_HELP)
def data_status(data_dir):
    """List each registered dataset and where it was found, or that it is missing."""
    from grader import datasets

    if data_dir is not None and not data_dir.is_dir():
        raise UserError(f"--data-dir {data_dir} is not a directory.")
    for row in datasets.status(data_dir):
        if row["found"]:
            kind = " [stand-in]" if row["synthetic"] else ""
            click.echo(f"{row['name']:<24} found{kind}: {row['path']} (from {row['origin']})")
        else:
            click.echo(f"{row['name']:<24} MISSING: needs {', '.join(row['missing'])}; looked in "
                       f"{', '.join(row['places'])}. {row['fix']}")


@data.command("import")
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help="Where to put it (default: GRADER_DATA_DIR, then ~/.keras/datasets).")
def data_import(name, path, data_dir):
    """Check files you downloaded by hand and put them where the grader looks."""
    from grader import datasets

    dest = datasets.import_files(name, path, data_dir)
    click.echo(f"Imported {name} into {dest}.")


@data.command("fetch")
@click.argument("name")
@click.option("--mirror", metavar="URL", help="Base URL of a mirror holding the same files (file:// works).")
@click.option("--data-dir", type=click.Path(path_type=Path), metavar="DIR", help="Where to put it (default: GRADER_DATA_DIR, then ~/.keras/datasets).")
def data_fetch(name, mirror, data_dir):
    """Download a dataset from its origin or a mirror, verifying checksums."""
    from grader import datasets

    dest = datasets.fetch(name, mirror, data_dir)
    click.echo(f"Fetched {name} into {dest}.")


@data.command("synth")
@click.argument("dest", type=click.Path(path_type=Path))
@click.argument("names", nargs=-1)
@click.option("--seed", type=int, default=0, show_default=True)
def data_synth(dest, names, seed):
    """Write stand-ins for the datasets NAMES (default: every registered dataset) under DEST, in the
    real on-disk formats.

    Reports graded with them say that the data was a stand-in."""
    from grader import datasets

    unknown = sorted(set(names) - set(datasets.registry()))
    if unknown:
        raise UserError(f"No dataset named {', '.join(unknown)}. Registered datasets: "
                        f"{', '.join(sorted(datasets.registry()))} (a course's own: add --exercises COURSE before "
                        "`data`).")
    for folder in datasets.synthesize_all(dest, seed, names or None):
        click.echo(f"Wrote a stand-in in {folder}")
    click.echo(f"Use it with --data-dir {dest} (or GRADER_DATA_DIR={dest}).")


@cli.command("plugins")
def list_plugins():
    """Show the loaded plugins, where they come from, and the hooks each implements."""
    from grader.plugins import describe_plugins

    for p in describe_plugins():
        click.echo(f"{p['name']}\n    from: {p['file']}\n    hooks: {', '.join(p['hooks'])}")
        for item in p["registers"]:
            click.echo(f"    {item}")


from grader.cli_class import batch, merge  # noqa: E402  (they use what is above)

cli.add_command(batch)
cli.add_command(merge)


def main():
    cli(prog_name="grader")

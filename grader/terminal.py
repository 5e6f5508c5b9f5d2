"""What a person at a terminal sees: a live status line while training, the report's summary, and a
batch's progress. Everything printed from a report's data is escaped for the terminal (the student's
program chose some of it)."""

from __future__ import annotations

import os
import sys
import math
import statistics

import click

from grader import safetext


class LiveProgress:
    """One status line on a terminal's stderr: the phase, or epoch k of n with the latest metrics and
    the time left against the limit."""

    def __init__(self):
        self.shown = False

    def __call__(self, event: dict):
        left = f"{event['time_left_s']:.0f} s left" if "time_left_s" in event else ""
        if "epoch" in event:
            logs = ", ".join(f"{k} {v:.4g}" for k, v in (event.get("logs") or {}).items()
                             if isinstance(v, (int, float)))
            text = f"training: epoch {event['epoch']}/{event.get('epochs') or '?'}  {logs}  ({left})"
        else:
            text = f"{event.get('phase', '')}..." + (f" ({left})" if left else "")
        if "run" in event:
            text = f"run {event['run']}/{event['runs']}: {text}"
        # the events come from the student's process: what they say is shown, never obeyed by the terminal
        click.echo(f"\r\033[K{safetext.one_line(text)[:150]}", nl=False, err=True)
        self.shown = True

    def done(self):
        if self.shown:
            click.echo("\r\033[K", nl=False, err=True)


def say(text: str = "", **kwargs):
    """Print a line made from the report's data: control characters from the student's program are
    shown escaped, never obeyed by the terminal. A reader that went away (``| head``) ends the printing,
    not the command: the reports are still written and the exit code still says the grade."""
    try:
        click.echo(safetext.for_terminal(text), **kwargs)
    except BrokenPipeError:
        stdout_closed()


def stdout_closed():
    """Standard output's reader is gone: further writes (and Python's flush at exit) go nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def returned_note(model: dict) -> str:
    """What the entry point returned, judged: a string where a model was expected is said, with what
    the grader graded instead."""
    graded = f"; the grader graded {model['source']} instead" if model.get("found") else ""
    return f"{model['not_keras']}{graded}."


def print_summary(report):
    """The terminal's report, complete in itself: verdict, checks, stand-in note, hints, the error."""
    say(f"{report.title}: {report.score:g}/{report.max_score:g} points")
    outcome = report.run.get("outcome") or {}
    if outcome.get("notable") and not (outcome.get("kind") in ("error", "syntax_error")
                                       and outcome.get("when") in (None, "before")):
        # (an error before training: the first failed check says it, and the traceback is printed below)
        say(f"  What happened: {safetext.one_line(outcome['sentence'])}")
    for warning in report.run.get("warnings") or []:
        say(f"  Warning: {safetext.one_line(warning)}")
    if (report.model or {}).get("not_keras"):
        say(f"  Note: {safetext.one_line(returned_note(report.model))}")
    if report.dataset.get("synthetic"):
        say(f"  Data: a stand-in for {report.dataset.get('name')} (generated with `grader data synth`), not the "
            "real dataset: these scores are not those the real data would give.")
    for weights in report.dataset.get("pretrained") or []:
        if weights.get("synthetic"):
            say(f"  Weights: a stand-in for {weights.get('name')} (generated with `grader data synth`), not the "
                "published pre-trained weights.")
    verification = report.environment.get("training_verification") or {}
    if verification.get("status") in ("verified", "refuted", "unverifiable", "off"):
        say(f"  Verification: {safetext.one_line(verification.get('sentence', ''))}")
    keras = report.environment.get("runtime") or {}
    if keras.get("name") == "keras2":
        say(f"  Keras: ran on {keras.get('package')}, because {keras.get('reason')}")
    marks = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}
    said: set = set()  # one cause, one message: what was said for one check is not said again
    line = safetext.one_line  # a message quotes the student's text: its newlines must not start lines
    for c in report.checks:
        message = "the same reason as above" if c.status != "passed" and c.message in said else c.message
        say(f"  [{marks[c.status]:<5}] {line(c.title)} ({c.score:g}/{c.max_score:g}): {line(message)}")
        if c.hint and c.status != "passed" and c.hint not in said:
            say(f"          What to try: {line(c.hint)}")
        if c.status != "passed":
            said.update((c.message, c.hint))
    if report.diagnoses:
        say("What to try:")
        for d in report.diagnoses:
            say(f"  - {line(d['title'])}: the grader saw that {line(d['evidence'])}\n    Try: {line(d['try_this'])}")
    err = report.run.get("error")
    if err and err.get("traceback"):
        say("\nYour program's error:\n" + safetext.fenced(err["traceback"]))


class BatchProgress:
    """done/total, how many could not be graded (invalid or the grader's error; low scores are graded) and
    time left: one status line on a terminal, a line per student elsewhere."""

    def __init__(self, tty: bool, workers: int = 1):
        self.tty = tty
        self.workers = max(1, workers)
        self.durations: list[float] = []
        self.total = self.done_count = self.failures = self.skipped = 0

    def start(self, total: int, skipped: int):
        self.total, self.done_count, self.skipped = total, skipped, skipped
        if skipped:
            click.echo(f"{skipped} of {total} already graded and unchanged (--resume): skipped.", err=True)

    def done(self, row: dict):
        self.done_count += 1
        self.failures += row["status"] != "graded"
        if row.get("duration_s"):
            self.durations.append(row["duration_s"])
        status = f"{row['score']:g}/{row['max_score']:g}" if row["status"] == "graded" else row["status"]
        line = (f"[{self.done_count}/{self.total}] {safetext.one_line(row['student'])}: {status} "
                f"({row['duration_s']:.0f} s)  not graded {self.failures}{self.time_left()}")
        line = safetext.for_terminal(line)
        if self.tty:
            click.echo(f"\r\033[K{line[:150]}", nl=False, err=True)
        else:
            click.echo(line, err=True)

    def time_left(self) -> str:
        """The median grading so far times the gradings left per worker; nothing until one has finished."""
        left = self.total - self.done_count
        if not left or not self.durations:
            return ""
        return f", about {statistics.median(self.durations) * math.ceil(left / self.workers):.0f} s left"

    def close(self):
        if self.tty and self.done_count:
            click.echo("", err=True)

"""A long-lived batch worker: runs ``grader grade`` jobs one after another in one process, so the
grader's own start-up is paid once per worker, not once per student. Each
student's code still runs in its own sandboxed child, as with ``grader grade``.

Protocol: one JSON job per line on stdin ({"args": [...]}, the arguments of ``grader``); one JSON
line back per job on the original stdout ({"exit_code": N, "stderr": "..."}). Anything else written
to stdout while a job runs is captured, so it cannot break the protocol."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def run_job(args: list[str]) -> dict:
    import click

    from grader.cli import cli

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            cli.main(args, prog_name="grader", standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except Exception as exc:  # the grader failed on this student; the worker goes on
            print(f"grader: internal error of the grader (not your code): {exc!r}", file=sys.stderr)
            code = 3
    return {"exit_code": code, "stderr": err.getvalue()[-4000:]}


def main():
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # stray writes to fd 1 (TensorFlow's C++ side) cannot corrupt the protocol
    os.close(quiet)
    import grader.cli  # noqa: F401  (the grader's own modules, once per worker)
    from grader import evaluator

    evaluator.keep_warm()  # Keras imported once per worker; each student's model still gets a process of its own
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            reply = run_job(json.loads(line)["args"])
            protocol.write(json.dumps(reply) + "\n")
            protocol.flush()
            _forget()
    finally:
        evaluator.close_all()


def _forget():
    """Drop what the last grading left, so a worker that grades a whole class does not grow with it
    (the models themselves never enter this process: each grading has its own evaluator)."""
    import gc

    gc.collect()


if __name__ == "__main__":
    main()

"""``grader exercise verify``: is an exercise sound?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.exercise import Exercise
from grader.grading import grade
from grader.safetext import one_line


@dataclass
class VerifyRow:
    file: Path
    role: str  # solution | starter | bad
    ok: bool
    detail: str


def why(report, names=None) -> list[str]:
    """What a grading that did not behave says: the program's error, then each failing check's message."""
    lines = []
    err = report.run.get("error") or {}
    if err.get("type"):
        lines.append(f"your program raised {err['type']} at {err.get('where') or 'start-up'}: "
                     f"{one_line(str(err.get('message') or ''))[:300]}")
    elif report.run.get("status") not in (None, "ok", "exit"):
        lines.append(one_line((report.run.get("outcome") or {}).get("sentence") or report.run["status"]))
    for c in report.checks:
        if c.status != "passed" and (names is None or c.name in names):
            lines.append(f"{c.name}: {one_line(c.message)}")
    return lines


def verify_exercise(ex: Exercise, *, time_limit=None, data_dir=None, echo=lambda s: None) -> list[VerifyRow]:
    rows = []
    check_names = {c.name for c in ex.checks}

    def add(row, explain=()):
        rows.append(row)
        echo(f"  [{'ok' if row.ok else 'PROBLEM'}] {row.role:<8} {row.file.name}: {row.detail}")
        if not row.ok:
            for line in explain:
                echo(f"             - {line}")

    if not ex.solution.is_file():
        add(VerifyRow(ex.solution, "solution", False, "missing: an exercise needs a reference solution.py"))
    else:
        r = grade(ex, ex.solution, time_limit=time_limit, data_dir=data_dir)
        failing = [c.name for c in r.checks if c.status != "passed"]
        add(VerifyRow(ex.solution, "solution", not failing,
                      f"{r.score:g}/{r.max_score:g}" + (f"; fails {', '.join(failing)}" if failing else "")), why(r))
    if not ex.starter.is_file():
        add(VerifyRow(ex.starter, "starter", False, "missing: an exercise needs a starter.py"))
    else:
        r = grade(ex, ex.starter, time_limit=time_limit, data_dir=data_dir)
        full = r.score >= r.max_score
        add(VerifyRow(ex.starter, "starter", not full,
                      f"{r.score:g}/{r.max_score:g}" + (" — the starter must not get full marks" if full else "")))
        if not full:
            for line in why(r)[:1] if (r.run.get("error") or {}).get("type") else []:
                echo(f"             ({line})")
    for path, target in ex.bad_variants():
        if target not in check_names:
            add(VerifyRow(path, "bad", False, f"names the check '{target}', which the exercise does not have"))
            continue
        r = grade(ex, path, time_limit=time_limit, data_dir=data_dir)
        status = next(c.status for c in r.checks if c.name == target)
        add(VerifyRow(path, "bad", status == "failed",
                      f"{target} {status}" + ("" if status == "failed" else f" — it must fail {target}")),
            why(r, {target}) + [f"{target} passed: {one_line(c.message)}" for c in r.checks
                                if c.name == target and c.status == "passed"])
    return rows

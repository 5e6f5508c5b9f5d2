"""Grade a whole class: one grading per student, in parallel, resumable, on one machine or a Dask cluster.

Each student is graded as ``grader grade`` grades one file: on this machine by long-lived worker
processes (``grader.batch_worker``) that take student after student, on a Dask cluster by a
``grader grade`` process per student (both in grader/batch_pool.py; the gradebook, summary and
dashboard are grader/batch_outputs.py). The student's code runs in its own sandboxed child either way,
so a crash, hang or memory blow-up costs only that student's grade, never the batch. A finished
student is a folder ``OUT/students/ID/`` holding report.json, report.html, results.json (Gradescope)
and, written last, meta.json (the content key and the gradebook row): a student with a meta.json is
done, whatever happens to the batch afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.output import atomic_write

SUFFIXES = (".py", ".ipynb")
REPORT_FILES = ("report.json", "report.html", "results.json")
# Python for the grader's own processes, started wherever the batch is: the current folder is not put on
# sys.path (a folder holding a clone named grader/ must not shadow the installed package). Then: MODULE ARGS...
PYTHON = [sys.executable, "-c", "import runpy, sys; del sys.path[0]; "
                                "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"]
_SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")


class BatchError(Exception):
    """The batch cannot start: the message says what was wrong and what to do."""


@dataclass
class Student:
    id: str
    path: Path | None  # the submission file, or None when the entry holds no single submission
    problem: str = ""  # why there is no submission to grade
    shown: str = ""  # the submission as the student named it (``frank.py``, ``frank/week1.ipynb``)

    @property
    def folder_name(self) -> str:
        """The student's folder under OUT/students: the id itself when it is a safe file name, else the
        id made safe plus a digest of the id, so two ids never share a folder (``eve y``, ``eve_y``)."""
        safe = _SAFE_ID.sub("_", self.id) or "_"
        return safe if safe == self.id else f"{safe}-{hashlib.sha256(self.id.encode()).hexdigest()[:8]}"


def discover(folder: Path, skip: Path | None = None, skipped: list | None = None) -> list[Student]:
    """One student per .py/.ipynb file, or per sub-folder holding exactly one such file; the name
    (file stem or folder name) is the student id. A folder that does not hold exactly one submission is
    a student with a problem; other files are skipped, their names appended to ``skipped`` (hidden
    files and ``skip``, the batch's own output folder, are not students and not listed)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder; give the folder that holds one submission file, or one "
                         "sub-folder with one .py/.ipynb, per student.")
    students: dict[str, Student] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (skip is not None and entry.resolve() == Path(skip).resolve()):
            continue
        if entry.is_symlink() and (entry.suffix in SUFFIXES or entry.is_dir()):
            student = Student(entry.stem if entry.suffix in SUFFIXES else entry.name, None,
                              f"{entry.name} is a symbolic link: the grader reads only the files students submitted")
        elif entry.is_file() and entry.suffix in SUFFIXES:
            student = Student(entry.stem, entry, shown=entry.name)
        elif entry.is_dir():
            found = sorted(p for p in entry.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix in SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(entry).parts))
            if len(found) == 1:
                student = Student(entry.name, found[0], shown=f"{entry.name}/{found[0].relative_to(entry)}")
            elif not found:
                student = Student(entry.name, None, f"the folder {entry.name}/ holds no .py or .ipynb file")
            else:
                names = ", ".join(str(p.relative_to(entry)) for p in found[:5])
                student = Student(entry.name, None, f"the folder {entry.name}/ holds {len(found)} submission files "
                                                    f"({names}); keep exactly one")
        else:
            if skipped is not None:
                skipped.append(entry.name)
            continue
        if student.id in students:
            other = students[student.id]
            student = Student(student.id, None, f"two entries are named {student.id} "
                                                f"({other.shown or other.id + '/'} and {entry.name})")
        students[student.id] = student
    if not students:
        raise BatchError(f"{folder} holds no submissions (.py or .ipynb files, or sub-folders with one each).")
    return list(students.values())


def shard(students: list[Student], spec: str | None) -> list[Student]:
    """``K/N``: the K-th of N deterministic slices (by sorted student id), for CI matrices."""
    if not spec:
        return students
    m = re.fullmatch(r"(\d+)/(\d+)", spec)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise BatchError(f"--shard {spec}: write K/N with 1 <= K <= N, e.g. --shard 2/4.")
    k, n = int(m.group(1)), int(m.group(2))
    ordered = sorted(students, key=lambda s: s.id)
    return [s for i, s in enumerate(ordered) if i % n == k - 1]


def exercise_digest(exercise) -> str:
    """What a grade depends on besides the submission: the spec, public and hidden."""
    h = hashlib.sha256()
    for name in ("spec.toml", "hidden.toml"):
        p = exercise.path / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"") + b"\0")
    return h.hexdigest()


def content_key(student: Student, spec_digest: str, options: dict) -> str:
    """What the student's grade depends on; which extra reports are written is not part of it."""
    h = hashlib.sha256()
    h.update(spec_digest.encode())
    h.update(json.dumps({k: v for k, v in options.items() if k != "reports"}, sort_keys=True).encode())
    h.update(__version__.encode())
    h.update(student.path.read_bytes() if student.path else student.problem.encode())
    return h.hexdigest()


def report_files(options: dict) -> tuple:
    """The files a finished student's folder holds: the standard reports and each ``--report`` FILE."""
    return REPORT_FILES + tuple(item.partition("=")[2] for item in options.get("reports") or [])


def grade_command(exercise: str, submission: Path, folder: Path, options: dict, shown: str = "") -> list[str]:
    cmd = [*PYTHON, "grader", "grade", exercise, str(submission), "--quiet",
           "--json", str(folder / "report.json"), "--html", str(folder / "report.html"),
           "--gradescope", str(folder / "results.json")]
    if shown:
        cmd += ["--submission-name", shown]
    for flag in ("data_dir", "time_limit", "seed", "runs"):
        if options.get(flag) is not None:
            cmd += ["--" + flag.replace("_", "-"), str(options[flag])]
    for item in options.get("reports") or []:
        name, _, filename = item.partition("=")
        cmd += ["--report", f"{name}={folder / filename}"]
    return cmd


def row_from(student: Student, payload: dict | None, checks: list) -> dict:
    """The gradebook row of one student: score, one score per check, status, duration, message."""
    row = {"student": student.id, "score": 0.0, "max_score": sum(c.points for c in checks),
           "checks": {c.name: 0.0 for c in checks}, "status": "invalid", "duration_s": 0.0, "message": "",
           "report": None}
    if payload is None:
        row["message"] = f"No submission to grade: {student.problem}."
        return row
    row["duration_s"] = payload["duration_s"]
    report = payload["files"].get("report.json")
    stderr = payload["stderr"].strip()
    last = stderr.splitlines()[-1] if stderr else ""
    if payload["timed_out"]:
        row.update(status="grader_error", message=f"the grading did not finish within {payload['budget_s']:.0f} s "
                                                  "and was stopped")
    elif payload["exit_code"] in (0, 1) and report:
        data = json.loads(report)
        record = ((data.get("environment") or {}).get("training_record") or {}).get("status", "")
        verification = ((data.get("environment") or {}).get("training_verification") or {}).get("status", "")
        row.update(status="graded", score=data["score"], max_score=data["max_score"], record=record,
                   verification=verification,
                   checks={c["name"]: c["score"] for c in data["checks"]}, report="report.html",
                   message="; ".join(c["title"] for c in data["checks"] if c["status"] != "passed"))
        row["message"] = ("failed: " + row["message"]) if row["message"] else "every check passed"
    elif payload["exit_code"] == 2:
        row.update(status="invalid", message=last.removeprefix("grader: ") or "the submission could not be graded")
    else:
        how = f"exit code {payload['exit_code']}" if payload["exit_code"] is not None else "no exit code"
        row.update(status="grader_error", message=(last.removeprefix("grader: ") or f"the grader ended with {how}"),
                   report="report.html" if "report.html" in payload["files"] else None)
    return row


def save_student(folder: Path, key: str, row: dict, files: dict):
    """Reports first, meta.json last (atomically each): a folder with meta.json is a finished result. What
    an earlier grading left that this one did not write (an extra --report file) is removed first, so a
    regraded student's folder never holds a report that contradicts the new grade."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").unlink(missing_ok=True)
    for old in folder.iterdir():
        if old.is_file() and old.name not in files:
            old.unlink()
    for name, text in files.items():
        atomic_write(folder / name, text)
    atomic_write(folder / "meta.json", json.dumps({"key": key, "row": row}, indent=1) + "\n")


def _render(report, options: dict) -> dict:
    """{file name: text} of the standard reports and each ``--report`` FILE for ``report``."""
    import tempfile

    from grader.plugins import reporters

    writers = reporters()
    wanted = [("json", "report.json"), ("html", "report.html"), ("gradescope", "results.json")]
    wanted += [tuple(item.split("=", 1)) for item in options.get("reports") or []]
    files = {}
    with tempfile.TemporaryDirectory(prefix="grader-reports-") as tmp:
        for name, filename in wanted:
            writers[name](report, str(Path(tmp) / filename))
            if (Path(tmp) / filename).is_file():
                files[filename] = (Path(tmp) / filename).read_text(encoding="utf-8")
    return files


def not_graded_files(exercise, student: Student, why: str, options: dict) -> dict:
    """An invalid submission's reports: 0 points and the reason, as ``grader grade`` writes for a file
    it cannot grade (CI platforms and the student see why)."""
    from grader.results import Report

    return _render(Report.not_graded(exercise, student.shown or student.id, why), options)


def add_missing_reports(folder: Path, options: dict):
    """Write each ``--report`` FILE a kept student's folder lacks, from the report.json already there."""
    from grader.results import Report

    missing = [item for item in options.get("reports") or [] if not (folder / item.split("=", 1)[1]).is_file()]
    if not missing or not (folder / "report.json").is_file():
        return
    report = Report.from_dict(json.loads((folder / "report.json").read_text(encoding="utf-8")))
    for filename, text in _render(report, {"reports": missing}).items():
        if filename not in REPORT_FILES:
            atomic_write(folder / filename, text)


def load_meta(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_batch(exercise, students: list[Student], out: Path, *, workers: int, options: dict, resume: bool = False,
              executor: str = "local", scheduler: str | None = None, progress=None,
              shard: str | None = None) -> list[dict]:
    """Grade ``students`` into ``out``; returns every student's row (finished earlier ones included)."""
    out = Path(out)
    (out / "students").mkdir(parents=True, exist_ok=True)
    digest = exercise_digest(exercise)
    rows: dict[str, dict] = {}
    todo, empty = [], []
    for s in students:
        folder = out / "students" / s.folder_name
        key = content_key(s, digest, options)
        meta = load_meta(folder)
        if resume and meta and meta.get("key") == key and meta["row"].get("status") != "grader_error":
            rows[s.id] = meta["row"]
            add_missing_reports(folder, options)  # a --report first asked for now: from the kept report
        elif s.path is None:
            empty.append((s, folder, key))
        else:
            todo.append((s, folder, key))
    from grader.batch_outputs import write_batch_info

    write_batch_info(out, exercise, shard)
    if progress:
        progress.start(len(students), len(rows))
    for s, folder, key in empty:  # nothing to run: the row says why, and so do the student's reports
        row = row_from(s, None, exercise.checks)
        files = not_graded_files(exercise, s, row["message"], options)
        row["report"] = "report.html"
        save_student(folder, key, row, files)
        rows[s.id] = row
        if progress:
            progress.done(row)
    runs = max(1, options.get("runs") or exercise.runs)
    budget = (options.get("time_limit") or exercise.time_limit) * runs + 300.0  # the grader's own work on top

    def finish(student, folder, key, payload):
        payload["budget_s"] = budget
        row = row_from(student, payload, exercise.checks)
        save_student(folder, key, row, payload["files"])
        rows[student.id] = row
        if progress:
            progress.done(row)

    from grader import batch_pool

    if executor == "dask":
        batch_pool.run_dask(exercise, todo, options, budget, scheduler, finish)
    else:
        batch_pool.run_local(exercise, todo, options, budget, workers, finish)
    return [rows[s.id] for s in students if s.id in rows]

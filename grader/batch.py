"""Grade a whole class: one grading per student, in parallel, resumable, on one machine or a Dask cluster.

Each student is graded as ``grader grade`` grades one file: on this machine by long-lived worker
processes (``grader.batch_worker``) that take student after student, on a Dask cluster by a
``grader grade`` process per student. The student's code runs in its own sandboxed child either way,
so a crash, hang or memory blow-up costs only that student's grade, never the batch. A finished
student is a folder ``OUT/students/ID/`` holding report.json, report.html, results.json (Gradescope)
and, written last, meta.json (the content key and the gradebook row): a student with a meta.json is
done, whatever happens to the batch afterwards.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grader import __version__, safetext
from grader.output import atomic_write

SUFFIXES = (".py", ".ipynb")
REPORT_FILES = ("report.json", "report.html", "results.json")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")


class BatchError(Exception):
    """The batch cannot start: the message says what was wrong and what to do."""


@dataclass
class Student:
    id: str
    path: Path | None  # the submission file, or None when the entry holds no single submission
    problem: str = ""  # why there is no submission to grade

    @property
    def folder_name(self) -> str:
        return _SAFE_ID.sub("_", self.id) or "_"


def discover(folder: Path) -> list[Student]:
    """One student per .py/.ipynb file, or per sub-folder holding exactly one such file; the name
    (file stem or folder name) is the student id. Anything else is skipped, or reported as a student
    with a problem when it is a folder that does not hold exactly one submission."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder; give the folder that holds one submission file, or one "
                         "sub-folder with one .py/.ipynb, per student.")
    students: dict[str, Student] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix in SUFFIXES:
            student = Student(entry.stem, entry)
        elif entry.is_dir():
            found = sorted(p for p in entry.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(entry).parts))
            if len(found) == 1:
                student = Student(entry.name, found[0])
            elif not found:
                student = Student(entry.name, None, f"the folder {entry.name}/ holds no .py or .ipynb file")
            else:
                names = ", ".join(str(p.relative_to(entry)) for p in found[:5])
                student = Student(entry.name, None, f"the folder {entry.name}/ holds {len(found)} submission files "
                                                    f"({names}); keep exactly one")
        else:
            continue
        if student.id in students:
            other = students[student.id]
            student = Student(student.id, None, f"two entries are named {student.id} "
                                                f"({other.path.name if other.path else other.id + '/'} and {entry.name})")
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
    h = hashlib.sha256()
    h.update(spec_digest.encode())
    h.update(json.dumps(options, sort_keys=True).encode())
    h.update(__version__.encode())
    h.update(student.path.read_bytes() if student.path else student.problem.encode())
    return h.hexdigest()


def grade_command(exercise: str, submission: Path, folder: Path, options: dict) -> list[str]:
    cmd = [sys.executable, "-m", "grader", "grade", exercise, str(submission), "--quiet",
           "--json", str(folder / "report.json"), "--html", str(folder / "report.html"),
           "--gradescope", str(folder / "results.json")]
    for flag in ("data_dir", "time_limit", "seed", "runs"):
        if options.get(flag) is not None:
            cmd += ["--" + flag.replace("_", "-"), str(options[flag])]
    for item in options.get("reports") or []:
        name, _, filename = item.partition("=")
        cmd += ["--report", f"{name}={folder / filename}"]
    return cmd


class Running:
    """The grading processes in flight, so an interrupted batch can stop them all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.procs: set = set()
        self.stopping = False

    def add(self, proc):
        with self.lock:
            if self.stopping:
                _kill(proc)
            self.procs.add(proc)

    def discard(self, proc):
        with self.lock:
            self.procs.discard(proc)

    def stop_all(self):
        with self.lock:
            self.stopping = True
            for proc in list(self.procs):
                _kill(proc)


def _kill(proc):
    """Kill a grading process and everything below it: the student's sandboxed child runs in a session
    of its own, so killing the process group alone would leave it training."""
    from grader.sandbox import descendants

    below = descendants(proc.pid)
    for pid in [proc.pid] + below:
        try:
            os.kill(pid, signal.SIGSTOP)  # nothing forks while the tree is taken down
        except OSError:
            pass
    for pid in reversed(below):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def grade_payload(exercise: str, filename: str, source: bytes, options: dict, budget_s: float) -> dict:
    """Grade one submission in a ``grader grade`` process of its own; returns what it wrote
    ({file name: text}) and how it ended. Runs on a Dask worker, where the submission is not: it
    travels as bytes and the reports come back as text."""
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
        tmp = Path(tmp)
        submission = tmp / filename
        submission.write_bytes(source)
        out = tmp / "out"
        out.mkdir()
        proc = subprocess.Popen(grade_command(exercise, submission, out, options), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=budget_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill(proc)
            _, err = proc.communicate()
            timed_out = True
        files = {name: (out / name).read_text(encoding="utf-8") for name in REPORT_FILES if (out / name).is_file()}
    return {"exit_code": proc.returncode, "timed_out": timed_out, "stderr": err.decode("utf-8", "replace")[-4000:],
            "files": files, "duration_s": round(time.time() - started, 3)}


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
        row.update(status="graded", score=data["score"], max_score=data["max_score"],
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
    """Reports first, meta.json last (atomically each): a folder with meta.json is a finished result."""
    for name, text in files.items():
        atomic_write(folder / name, text)
    atomic_write(folder / "meta.json", json.dumps({"key": key, "row": row}, indent=1) + "\n")


def load_meta(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_batch(exercise, students: list[Student], out: Path, *, workers: int, options: dict, resume: bool = False,
              executor: str = "local", scheduler: str | None = None, progress=None) -> list[dict]:
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
        if resume and meta and meta.get("key") == key:
            rows[s.id] = meta["row"]
        elif s.path is None:
            empty.append((s, folder, key))
        else:
            todo.append((s, folder, key))
    write_batch_info(out, exercise)
    if progress:
        progress.start(len(students), len(rows))
    for s, folder, key in empty:  # nothing to run: the row says why
        row = row_from(s, None, exercise.checks)
        save_student(folder, key, row, {})
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

    if executor == "dask":
        _run_dask(exercise, todo, options, budget, scheduler, finish)
    else:
        _run_local(exercise, todo, options, budget, workers, finish)
    return [rows[s.id] for s in students if s.id in rows]


class Worker:
    """One long-lived ``grader.batch_worker`` process (its own session, so it can be killed whole)."""

    def __init__(self, running: Running):
        self.running = running
        self.proc = subprocess.Popen([sys.executable, "-m", "grader.batch_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        running.add(self.proc)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.replies.put(line)
        self.replies.put(None)  # the worker ended

    def grade(self, exercise: str, student: Student, options: dict, budget: float) -> dict:
        """Grade one student in this worker; a worker that dies or overruns is killed (the caller
        starts another) and the student gets a grader_error."""
        started = time.time()
        with tempfile.TemporaryDirectory(prefix="grader-batch-") as tmp:
            out = Path(tmp)
            submission = out / student.path.name
            submission.write_bytes(student.path.read_bytes())
            args = grade_command(exercise, submission, out, options)[3:]  # without "python -m grader"
            try:
                self.proc.stdin.write(json.dumps({"args": args}) + "\n")
                self.proc.stdin.flush()
                line = self.replies.get(timeout=budget)
            except (OSError, queue.Empty) as exc:
                line, timed_out = None, isinstance(exc, queue.Empty)
            else:
                timed_out = False
            files = {n: (out / n).read_text(encoding="utf-8") for n in REPORT_FILES if (out / n).is_file()}
        if line is None:
            self.stop()
            stderr = "" if timed_out else f"grader: the grading process ended unexpectedly (exit code {self.proc.poll()})"
            return {"exit_code": None, "timed_out": timed_out, "stderr": stderr, "files": files,
                    "duration_s": round(time.time() - started, 3)}
        reply = json.loads(line)
        return {"exit_code": reply["exit_code"], "timed_out": False, "stderr": reply["stderr"], "files": files,
                "duration_s": round(time.time() - started, 3)}

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        _kill(self.proc)
        self.proc.wait()
        self.running.discard(self.proc)


def _run_local(exercise, todo, options, budget, workers, finish):
    """``workers`` threads, each feeding students to its own long-lived worker process."""
    running = Running()
    jobs: queue.Queue = queue.Queue()
    for item in todo:
        jobs.put(item)
    results: queue.Queue = queue.Queue()

    def feed():
        worker = None
        try:
            while not running.stopping:
                try:
                    s, folder, key = jobs.get_nowait()
                except queue.Empty:
                    return
                if worker is None or not worker.alive:
                    worker = Worker(running)
                results.put((s, folder, key, worker.grade(exercise.name, s, options, budget)))
        except BaseException as exc:  # never leave the main thread waiting
            results.put(exc)
        finally:
            if worker is not None:
                worker.proc.stdin.close()
                try:
                    worker.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.stop()
                running.discard(worker.proc)

    threads = [threading.Thread(target=feed, daemon=True) for _ in range(min(max(1, workers), len(todo)))]
    for t in threads:
        t.start()
    try:
        for _ in range(len(todo)):
            item = results.get()
            if isinstance(item, BaseException):
                raise item
            finish(*item)
    except BaseException:  # Ctrl-C: stop the gradings in flight; finished students are already on disk
        running.stop_all()
        raise
    for t in threads:
        t.join()


def _run_dask(exercise, todo, options, budget, scheduler, finish):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise BatchError("--executor dask needs Dask distributed: pip install 'grader[dask]'.") from None
    if not scheduler:
        raise BatchError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786).")
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}.") from None
    try:
        futures = {client.submit(grade_payload, exercise.name, s.path.name, s.path.read_bytes(), options, budget,
                                 key=f"grade-{key[:16]}-{s.folder_name}", pure=False): (s, folder, key)
                   for s, folder, key in todo}
        try:
            for future in as_completed(futures):
                s, folder, key = futures[future]
                try:
                    payload = future.result()
                except Exception as exc:  # the worker died or could not run the grading
                    payload = {"exit_code": None, "timed_out": False, "files": {}, "duration_s": 0.0,
                               "stderr": f"grader: the Dask worker failed: {type(exc).__name__}: {exc}"}
                finish(s, folder, key, payload)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()


# ------------------------------------------------------------------ outputs of a batch
def write_batch_info(out: Path, exercise):
    info = {"exercise": exercise.name, "title": exercise.title, "max_score": exercise.max_score,
            "checks": [{"name": c.name, "title": c.title, "points": c.points, "visibility": c.visibility}
                       for c in exercise.checks], "grader_version": __version__}
    atomic_write(out / "batch.json", json.dumps(info, indent=1) + "\n")


def collect_rows(out: Path) -> list[dict]:
    """Every finished student under ``out`` (after a batch, a resume or a merge), sorted by id."""
    rows = []
    for folder in sorted((out / "students").iterdir()) if (out / "students").is_dir() else []:
        meta = load_meta(folder)
        if meta:
            rows.append(dict(meta["row"], folder=folder.name))
    return sorted(rows, key=lambda r: r["student"])


def gradebook_csv(rows: list[dict], checks: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *[c["name"] for c in checks], "status", "duration_s"])
    for r in rows:
        writer.writerow([r["student"], f"{r['score']:g}", f"{r['max_score']:g}",
                         *[f"{r['checks'].get(c['name'], 0):g}" for c in checks], r["status"], f"{r['duration_s']:.1f}"])
    return buf.getvalue()


def summarise(info: dict, rows: list[dict]) -> dict:
    graded = [r for r in rows if r["status"] == "graded"]
    scores = [r["score"] for r in graded]
    max_score = info["max_score"]
    bins = 10
    histogram = [0] * bins
    for s in scores:
        histogram[min(int(s / max_score * bins), bins - 1) if max_score else 0] += 1
    per_check = []
    for c in info["checks"]:
        passed = sum(r["checks"].get(c["name"], 0) >= c["points"] for r in graded)
        per_check.append({"name": c["name"], "title": c["title"], "visibility": c["visibility"], "passed": passed,
                          "total": len(graded), "rate": round(passed / len(graded), 4) if graded else None})
    return {
        "exercise": info["exercise"], "title": info["title"], "max_score": max_score,
        "students": len(rows), "graded": len(graded),
        "invalid": [r["student"] for r in rows if r["status"] == "invalid"],
        "grader_errors": [r["student"] for r in rows if r["status"] == "grader_error"],
        "full_marks": sum(s >= max_score for s in scores),
        "mean_score": round(statistics.fmean(scores), 3) if scores else None,
        "median_score": statistics.median(scores) if scores else None,
        "histogram": {"bins": bins, "counts": histogram},
        "checks": per_check,
        "slowest": [{"student": r["student"], "duration_s": r["duration_s"]}
                    for r in sorted(rows, key=lambda r: -r["duration_s"])[:5] if r["duration_s"]],
        "errors": [{"student": r["student"], "status": r["status"], "message": r["message"]}
                   for r in rows if r["status"] != "graded"],
        "grader_version": __version__,
    }


def write_outputs(out: Path, junit_path=None) -> tuple[list[dict], dict]:
    """gradebook.csv, summary.json and index.html (and JUnit XML) from every finished student."""
    from grader.templating import environment

    out = Path(out)
    info = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    rows = collect_rows(out)
    summary = summarise(info, rows)
    atomic_write(out / "gradebook.csv", gradebook_csv(rows, info["checks"]))
    atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    html = environment().get_template("dashboard.html").render(s=summary, rows=rows, info=info,
                                                               chart=dashboard_chart(summary))
    atomic_write(out / "index.html", html)
    if junit_path:
        atomic_write(junit_path, batch_junit(out, info, rows))
    return rows, summary


def dashboard_chart(summary: dict) -> dict:
    """Bar geometry for the score distribution (inline SVG, like the report's curves)."""
    counts = summary["histogram"]["counts"]
    top = max(counts) or 1
    width, height, pad = 400, 140, 24
    bar = (width - 2 * pad) / len(counts)
    step = summary["max_score"] / len(counts) if summary["max_score"] else 0
    bars = []
    for i, n in enumerate(counts):
        h = (height - 2 * pad) * n / top
        bars.append({"x": round(pad + i * bar + 1, 1), "y": round(height - pad - h, 1), "w": round(bar - 2, 1),
                     "h": round(h, 1), "n": n, "label": f"{i * step:g}"})
    return {"width": width, "height": height, "pad": pad, "bars": bars, "max_label": f"{summary['max_score']:g}"}


def batch_junit(out: Path, info: dict, rows: list[dict]) -> str:
    """One testsuite per student, one testcase per check, from the students' own reports."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name=f"grader.{info['exercise']}")
    for r in rows:
        report_path = out / "students" / r["folder"] / "report.json"
        data = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
        suite = ET.SubElement(root, "testsuite", name=r["student"], time=f"{r['duration_s']:.3f}")
        checks = data["checks"] if data else []
        if not checks:  # not graded: one failing case says why
            case = ET.SubElement(suite, "testcase", classname=info["exercise"], name="submission")
            ET.SubElement(case, "error" if r["status"] == "grader_error" else "failure",
                          message=r["message"], type=r["status"]).text = r["message"]
        for c in checks:
            case = ET.SubElement(suite, "testcase", classname=f"{info['exercise']}.{r['student']}", name=c["name"])
            if c["status"] in ("failed", "error"):
                ET.SubElement(case, "failure" if c["status"] == "failed" else "error",
                              message=c["message"], type=c["status"]).text = c["message"]
        suite.set("tests", str(max(len(checks), 1)))
        suite.set("failures", str(sum(c["status"] == "failed" for c in checks) + (not checks and r["status"] != "grader_error")))
        suite.set("errors", str(sum(c["status"] == "error" for c in checks) + (not checks and r["status"] == "grader_error")))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + safetext.for_xml(ET.tostring(root, encoding="unicode")) + "\n"


def merge(out: Path, shards: list[Path]) -> int:
    """Copy the finished students of each shard's output into ``out``; returns how many."""
    import shutil

    out = Path(out)
    infos = []
    for d in shards:
        if not (Path(d) / "batch.json").is_file():
            raise BatchError(f"{d} is not the output of grader batch (no batch.json); give the --out folders of the shards.")
        infos.append(json.loads((Path(d) / "batch.json").read_text(encoding="utf-8")))
    names = {i["exercise"] for i in infos}
    if len(names) != 1:
        raise BatchError(f"the shards graded different exercises ({', '.join(sorted(names))}); merge one exercise at a time.")
    try:
        (out / "students").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out}: cannot create the merged output folder there ({exc.strerror}).") from None
    atomic_write(out / "batch.json", json.dumps(infos[0], indent=1) + "\n")
    copied = 0
    for d in shards:
        for folder in sorted((Path(d) / "students").iterdir()) if (Path(d) / "students").is_dir() else []:
            if load_meta(folder) is None or Path(d).resolve() == out.resolve():
                continue
            dest = out / "students" / folder.name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(folder, dest)
            copied += 1
    return copied

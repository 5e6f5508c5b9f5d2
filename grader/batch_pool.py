"""Where a class's gradings run: long-lived worker processes on this machine, or a Dask cluster.

A worker (``grader.batch_worker``) takes student after student and keeps its evaluator warm (Keras
imported once; each student's model evaluated in a process of its own). A worker that dies is replaced,
and the student it was grading gets a ``grader_error`` row with the worker's own last words.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from grader.batch import PYTHON, BatchError, Student, grade_command, report_files

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
    from grader.cgroups import descendants

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


def grade_payload(exercise: str, filename: str, source: bytes, options: dict, budget_s: float, shown: str = "") -> dict:
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
        proc = subprocess.Popen(grade_command(exercise, submission, out, options, shown), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=budget_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill(proc)
            _, err = proc.communicate()
            timed_out = True
        files = {name: (out / name).read_text(encoding="utf-8") for name in report_files(options) if (out / name).is_file()}
    return {"exit_code": proc.returncode, "timed_out": timed_out, "stderr": err.decode("utf-8", "replace")[-4000:],
            "files": files, "duration_s": round(time.time() - started, 3)}


def _how_ended(code) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Worker:
    """One long-lived ``grader.batch_worker`` process (its own session, so it can be killed whole)."""

    def __init__(self, running: Running):
        self.running = running
        self.stderr = tempfile.TemporaryFile()  # kept: a worker that dies says why
        self.proc = subprocess.Popen([*PYTHON, "grader.batch_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True,
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
            args = grade_command(exercise, submission, out, options, student.shown)[len(PYTHON) + 1:]
            try:
                self.proc.stdin.write(json.dumps({"args": args}) + "\n")
                self.proc.stdin.flush()
                line = self.replies.get(timeout=budget)
            except (OSError, queue.Empty) as exc:
                line, timed_out = None, isinstance(exc, queue.Empty)
            else:
                timed_out = False
            files = {n: (out / n).read_text(encoding="utf-8") for n in report_files(options) if (out / n).is_file()}
        if line is None:
            self.stop()
            stderr = "" if timed_out else (f"grader: the grading process ended unexpectedly "
                                           f"({_how_ended(self.proc.poll())}){self.last_words()}")
            return {"exit_code": None, "timed_out": timed_out, "stderr": stderr, "files": files,
                    "duration_s": round(time.time() - started, 3)}
        reply = json.loads(line)
        return {"exit_code": reply["exit_code"], "timed_out": False, "stderr": reply["stderr"], "files": files,
                "duration_s": round(time.time() - started, 3)}

    def last_words(self) -> str:
        """The end of what the worker printed before it died (an ImportError, a traceback), for the row."""
        try:
            self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, self.stderr.tell() - 4000))
            lines = [ln for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return f": {lines[-1].strip()[:300]}" if lines else ""

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        _kill(self.proc)
        self.proc.wait()
        self.running.discard(self.proc)


def run_local(exercise, todo, options, budget, workers, finish):
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


def run_dask(exercise, todo, options, budget, scheduler, finish):
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
                                 s.shown, key=f"grade-{key[:16]}-{s.folder_name}", pure=False): (s, folder, key)
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

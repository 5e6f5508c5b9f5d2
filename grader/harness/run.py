"""The child's main: run the submission as ``__main__`` under the fit wrapper, then save model + trace."""

from __future__ import annotations

import builtins
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path


class Events:
    """One JSON line per event on the parent's progress pipe: never mixed into the student's output."""

    def __init__(self, fd):
        self.fd = fd

    def send(self, **event):
        if self.fd is None:
            return
        try:
            os.write(self.fd, (json.dumps(event, default=str) + "\n").encode())
        except (OSError, ValueError):
            self.fd = None


class GraderTimeLimit(BaseException):
    """Raised in the child when the parent signals that the wall-clock limit is up."""


def _on_sigterm(signum, frame):
    raise GraderTimeLimit()


def _locate(job: dict, line: int | None) -> str:
    line_map = job.get("line_map") or []
    if line and 1 <= line <= len(line_map):
        from grader.harness.notebooks import cell_position
        return cell_position(*line_map[line - 1])
    return f"line {line}"


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


def _clean_message(message: str, source_path: str, filename: str) -> str:
    """TensorFlow puts its own stack of library frames into error messages; keep the student's frames
    and the sentences, and keep the end (where TensorFlow says what was wrong) when it is long."""
    kept = []
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)  # Keras' bold and colour codes: the words stay
    for line in message.replace(source_path, filename).splitlines():
        m = _FRAME.match(line)
        if m and m.group(1) != filename:
            continue
        if line.strip() or (kept and kept[-1].strip()):
            kept.append(line)
    message = "\n".join(kept).strip()
    if len(message) > 2000:
        message = message[:500] + "\n[...]\n" + message[-1500:]
    return message


def did_you_mean(exc: BaseException) -> str | None:
    """Python's own suggestion for a misspelt name (". Did you mean: 'Dense'?"), which Python 3.11 adds
    only where it prints a traceback itself."""
    import difflib

    name = getattr(exc, "name", None)
    if not isinstance(name, str) or not isinstance(exc, (AttributeError, NameError)):
        return None
    try:
        if isinstance(exc, AttributeError):
            candidates = dir(exc.obj)
        else:
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            frame = tb.tb_frame if tb is not None else None
            candidates = list(frame.f_locals if frame else ()) + list(frame.f_globals if frame else ()) + dir(builtins)
        found = difflib.get_close_matches(name, [c for c in candidates if isinstance(c, str)], n=1, cutoff=0.7)
    except Exception:
        return None
    return f". Did you mean: '{found[0]}'?" if found and found[0] != name else None


def describe_exception(exc: BaseException, job: dict, source_path: str) -> dict:
    """The exception as the student should see it: only frames from their own file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source_path]
    lines = ["Traceback (most recent call last, grader frames removed):"]
    for f in frames:
        lines.append(f'  File "{job["filename"]}", {_locate(job, f.lineno)}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()}")
    message = _clean_message(str(exc), source_path, job["filename"])
    suggestion = did_you_mean(exc)
    if suggestion and "Did you mean" not in message:
        message += suggestion
    lines.append(f"{type(exc).__name__}: {message}".rstrip(": ") if message else type(exc).__name__)
    last = frames[-1].lineno if frames else None
    return {
        "type": type(exc).__name__,
        "message": message,
        "line": last,
        "where": _locate(job, last) if last else None,
        "traceback": "\n".join(lines),
    }


def _as_model(keras, obj):
    if isinstance(obj, keras.Model):
        return obj
    if isinstance(obj, keras.callbacks.History) and isinstance(getattr(obj, "model", None), keras.Model):
        return obj.model
    if isinstance(obj, (tuple, list)):
        for item in obj:
            found = _as_model(keras, item)
            if found is not None:
                return found
    if isinstance(obj, dict):
        return _as_model(keras, list(obj.values()))
    return None


def find_model(keras, namespace: dict, returned, job: dict, recorder) -> tuple[object, dict]:
    """The model to grade, and how it was found (or why none was)."""
    info: dict = {"found": False}
    entry, var = job.get("entry_point"), job.get("model_variable") or "model"
    if returned is not None:
        m = _as_model(keras, returned)
        if m is not None:
            return m, {"found": True, "source": f"returned by {entry}()"}
        info["not_keras"] = f"{entry}() returned a {type(returned).__name__}, not a Keras model or History"
    value = namespace.get(var)
    m = _as_model(keras, value)
    if m is not None:
        return m, {"found": True, "source": f"the variable `{var}`"}
    if value is not None and "not_keras" not in info:
        info["not_keras"] = f"the variable `{var}` holds a {type(value).__name__}, not a Keras model"
    if recorder.models:
        return recorder.models[-1], dict(info, found=True, source="the last model passed to fit")
    for name, value in reversed(list(namespace.items())):
        if not name.startswith("_") and isinstance(value, keras.Model):
            return value, dict(info, found=True, source=f"the variable `{name}`")
    return None, info


def run_cells(source: str, source_path: str, job: dict, namespace: dict, run, trace: dict) -> str:
    """Run a notebook cell by cell, going on after a cell that raises (when the exercise says so).
    Every failing cell is recorded; the first is the run's error. Line numbers stay the notebook's."""
    lines = source.splitlines()
    cells: dict[int, list[int]] = {}
    for number, entry in enumerate(job["line_map"], start=1):
        cells.setdefault(entry[0], []).append(number)
    status, errors = "ok", []
    for cell, numbers in cells.items():
        first, last = numbers[0], numbers[-1]
        code = compile("\n" * (first - 1) + "\n".join(lines[first - 1:last]) + "\n", source_path, "exec")
        trace["error"] = None
        outcome, _ = run(lambda: exec(code, namespace))
        if outcome == "error":
            errors.append(dict(trace["error"], cell=cell))
        elif outcome != "ok":
            status = outcome
            break
    trace["cell_errors"] = errors
    trace["error"] = errors[0] if errors else trace.get("error")
    return "error" if errors and status == "ok" else status


class MissingHelper(Exception):
    """The entry point takes an argument the grader builds with a function the program lacks."""


def entry_arguments(keras, args: list, namespace: dict | None = None, entry: str = "") -> list:
    """Entry-point arguments: paths as they are; {"keras_dataset": NAME, "part": [i, j]} as the arrays
    keras.datasets.NAME.load_data()[i][j] returns from the child's own copy (x_train, y_train, ...);
    {"call": NAME} as what the program's own function NAME() returns (the course's later assignments
    pass ``train_happy_sad_model(train_generator)`` what ``image_generator()`` built)."""
    loaded, out = {}, []
    for arg in args:
        if isinstance(arg, dict) and "call" in arg:
            helper = (namespace or {}).get(arg["call"])
            if not callable(helper):
                raise MissingHelper(f"{entry}() takes an argument, which the grader builds with your function "
                                    f"{arg['call']}(), and your file has no function {arg['call']}. Define it, or "
                                    f"let {entry}() build its data itself.")
            out.append(helper())
        elif isinstance(arg, dict) and "keras_dataset" in arg:
            name = arg["keras_dataset"]
            if name not in loaded:
                loaded[name] = getattr(keras.datasets, name).load_data()
            i, j = arg["part"]
            out.append(loaded[name][i][j])
        else:
            out.append(arg)
    return out


def arguments_taken(fn, args: list) -> list:
    """As many of the exercise's arguments as the student's function takes: the course's assignments
    changed signatures over the years (``train_mnist()`` loading its own data, ``train_mnist(x_train,
    y_train)``), and one exercise grades them all."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return list(args)
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return list(args)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    return list(args)[:max(required, min(len(args), len(positional)))] if required <= len(args) else list(args)


def save_model(keras, model, path: Path):
    """The model as a .keras file. Evaluation reads only its architecture and weights; a model compiled
    with what Keras cannot save (a TensorFlow 1 optimizer, ``tf.compat.v1.train.*``) is saved as an
    uncompiled copy with the same weights."""
    partial = path.with_name(path.name + ".part.keras")  # a save cut short never replaces a whole file
    for planted in (partial,):  # whatever the program put at that name (a FIFO would block the save) goes
        try:
            if not os.path.isdir(planted):
                os.unlink(planted)
        except FileNotFoundError:
            pass
    try:
        model.save(partial)
    except Exception:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        copy.save(partial)
    os.replace(partial, path)


class Checkpoints:
    """After a fit, the model it trained and the trace so far are saved: a program stopped later (a hang,
    a memory blow-up, a crash after training) is still graded on what it trained. Saving costs at most
    about a tenth of the time between saves (a program that calls fit 500 times is not saved 500 times)."""

    def __init__(self, keras, out: Path, trace: dict, recorder):
        self.keras, self.out, self.trace, self.recorder = keras, out, trace, recorder
        self.next_at = 0.0

    def __call__(self, model):
        if time.time() < self.next_at:
            return
        started = time.time()
        try:
            scratch = self.out / "scratch"
            scratch.mkdir(parents=True, exist_ok=True)
            tempfile.tempdir = str(scratch)
            save_model(self.keras, model, self.out / "checkpoint.keras")
            snapshot = dict(self.trace, status="running", fits=self.recorder.fits, legacy=self.recorder.legacy,
                            data_access=self.recorder.data_access,
                            model={"found": True, "source": "the model model.fit trained last (saved when its "
                                                            "training ended)", "class": type(model).__name__,
                                   "fitted": True, "saved": True, "learned_in_fit": id(model) in self.recorder.learned,
                                   "fit_calls": [f["index"] for f in self.recorder.fits if f["epochs_run"]]})
            _write_json(self.out / "trace.json", snapshot)
        except Exception:
            pass
        self.next_at = time.time() + 10 * (time.time() - started)


def _write_json(path: Path, data: dict):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


def main(job_text: str):
    job = json.loads(job_text)
    devnull = os.open(os.devnull, os.O_RDONLY)  # the student's program reads an empty stdin
    os.dup2(devnull, 0)
    os.close(devnull)
    out = Path(job["artifacts"])
    source_path = job["source"]
    trace: dict = {"status": "running", "fits": [], "legacy": [], "model": {"found": False},
                   "error": None, "seed": job.get("seed")}

    def finish(code=0):
        out.mkdir(parents=True, exist_ok=True)  # a program that emptied every folder it could reach
        _write_json(out / "trace.json", trace)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)  # skip TensorFlow's slow teardown; everything is written

    # A syntax error costs no TensorFlow import.
    source = Path(source_path).read_text(encoding="utf-8")
    try:
        code = compile(source, source_path, "exec")
    except SyntaxError as exc:
        trace["status"] = "syntax_error"
        trace["error"] = {"type": "SyntaxError", "message": exc.msg, "line": exc.lineno,
                          "where": _locate(job, exc.lineno), "text": (exc.text or "").rstrip(),
                          "traceback": f'  File "{job["filename"]}", {_locate(job, exc.lineno)}\n'
                                       f'    {(exc.text or "").strip()}\nSyntaxError: {exc.msg}'}
        finish()

    signal.signal(signal.SIGTERM, _on_sigterm)
    events = Events(job.get("progress_fd"))
    events.send(phase="importing TensorFlow")
    started = time.time()
    from grader.harness import determinism, fitwrap, ledger, legacy, notebooks, offline
    from grader.tfimport import import_keras_quietly

    runtime = job.get("runtime") or "keras3"
    try:
        tf, keras = import_keras_quietly(runtime)
    except GraderTimeLimit:  # the time limit is shorter than importing TensorFlow takes here
        trace["status"] = "timeout"
        trace["stopped_in"] = "importing TensorFlow"
        trace["import_s"] = round(time.time() - started, 3)
        finish()
    if runtime == "keras2":
        legacy.install_keras2()

    trace["versions"] = {"python": platform.python_version(), "tensorflow": tf.__version__,
                         "keras": keras.__version__, "runtime": runtime,
                         "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                         "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}
    trace["import_s"] = round(time.time() - started, 3)
    recorder = fitwrap.Recorder(job, source_path, events)
    recorder.after_fit = Checkpoints(keras, out, trace, recorder)
    recorder.ledger = ledger.Ledger(events, out, job.get("seed"),
                                    budget_mib=job.get("state_budget_mib", ledger.STATE_BUDGET_MIB),
                                    rows_mib=job.get("rows_budget_mib")) \
        if job.get("verify", True) else None
    trace["determinism"] = determinism.install(tf, keras, job.get("seed"), recorder)
    fitwrap.install(tf, keras, recorder)
    offline.install(keras, tf, job.get("downloads") or {}, recorder)
    offline.install_loaders(job.get("loaders") or {}, recorder, "tf_keras" if runtime == "keras2" else "keras")
    legacy.install(tf, keras, recorder, runtime)
    for entry in job.get("archives") or []:
        offline.archive_of(entry)
    recorder.data_access.extend(job.get("served_paths") or [])
    display, get_ipython = notebooks.install(recorder)

    module = types.ModuleType("__main__")
    module.__file__ = source_path
    module.__builtins__ = builtins
    module.display = display  # notebooks (and their exports) call display(); outside IPython it does not exist
    module.get_ipython = get_ipython  # `jupyter nbconvert --to script` writes get_ipython().system(...) unimported
    sys.modules["__main__"] = module
    sys.argv = [source_path]
    namespace = module.__dict__

    def run(fn):
        """Run student code; returns (status, value)."""
        try:
            return "ok", fn()
        except SystemExit as exc:
            trace["exit_code"] = exc.code if isinstance(exc.code, (int, type(None))) else str(exc.code)[:2000]
            trace["exit_at"] = describe_exception(exc, job, source_path).get("where")
            return "exit", None
        except GraderTimeLimit as exc:  # where the program was when the time ran out
            trace["stopped_at"] = describe_exception(exc, job, source_path).get("where")
            return "timeout", None
        except BaseException as exc:
            trace["error"] = describe_exception(exc, job, source_path)
            return "error", None

    events.send(phase="running your program")
    if job.get("continue_after_error") and job.get("line_map"):
        status = run_cells(source, source_path, job, namespace, run, trace)
    else:
        status, _ = run(lambda: exec(code, namespace))
    returned = None
    entry = job.get("entry_point")
    if status in ("ok", "exit") and entry and not recorder.fits:
        fn = namespace.get(entry)
        if callable(fn):
            args = arguments_taken(fn, job.get("entry_args", []))
            status, returned = run(lambda: fn(*entry_arguments(keras, args, namespace, entry)))
            trace["entry_point_called"] = entry
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # saving must not be cut short by our own signal
    events.send(phase="saving the model")
    trace["status"] = status
    trace["run_s"] = round(time.time() - started, 3)
    trace["fits"] = recorder.fits
    if recorder.ledger is not None:
        recorder.ledger.close()
    trace["commit_s"] = round(recorder.ledger.spent, 4) if recorder.ledger is not None else 0.0
    trace["commit_thread_s"] = round(recorder.ledger.behind, 4) if recorder.ledger is not None else 0.0
    trace["state_write_failures"] = recorder.ledger.failures if recorder.ledger is not None else 0
    trace["legacy"] = recorder.legacy
    trace["data_access"] = recorder.data_access

    try:
        model, info = find_model(keras, namespace, returned, job, recorder)
    except BaseException as exc:  # a hostile __eq__ or property; never take the harness down
        model, info = None, {"found": False, "error": f"{type(exc).__name__}: {exc}"}
    if trace.get("entry_point_called") and status == "ok" and returned is None and "not_keras" not in info:
        info["not_keras"] = f"{entry}() returned None (is its `return model` missing?), not a Keras model or History"
    if model is not None:
        info["class"] = type(model).__name__
        info["fitted"] = any(m is model for m in recorder.models)
        info["fit_calls"] = [f["index"] for f in recorder.fits if f["epochs_run"]]
        try:
            if info["fitted"]:
                info["weights_changed_after_fit"] = fitwrap.weights_digest(model) != recorder.digests.get(id(model))
                info["learned_in_fit"] = id(model) in recorder.learned
            # Keras builds the file in a temporary folder: one of the harness's own, since the program
            # may have emptied its /tmp or pointed TMPDIR elsewhere
            scratch = out / "scratch"
            scratch.mkdir(parents=True, exist_ok=True)
            tempfile.tempdir = str(scratch)
            save_model(keras, model, out / "model.keras")
            shutil.rmtree(scratch, ignore_errors=True)
            info["saved"] = True
        except BaseException as exc:
            info["saved"] = False
            info["save_error"] = f"{type(exc).__name__}: {exc}"[:1000]
    trace["model"] = info
    finish()

"""The trace the child wrote, read on the trusted side: bounded in size and in work before it is parsed,
then every field, nested ones too, kept only when of the type the checks read (the student's code runs
in the child and can write any trace it likes)."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

MAX_TRACE_BYTES = 20 * 1024 * 1024

def regular_file(path: Path, max_bytes: int) -> bool:
    """True if ``path`` is a plain file the child wrote (no symlink, FIFO, device or hard link)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_size <= max_bytes


# Lists and objects a trace may hold: an honest one has a few dozen per fit (5,000 fits at most); 20 MiB of
# empty lists is ten million, which parsed and copied would cost the trusted grader gigabytes.
MAX_CONTAINERS = 300_000


def read_trace(path: Path) -> dict:
    """The trace the harness wrote, as data to validate: {} when missing or malformed (the child may
    have forged it), else with every value bounded and of the type the grader expects."""
    if not regular_file(path, MAX_TRACE_BYTES):
        return {}
    try:
        raw = path.read_bytes()
        if raw.count(b"[") + raw.count(b"{") > MAX_CONTAINERS:  # counted before parsing: bounded work
            return {}
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, OSError, RecursionError):
        return {}
    return clean_trace(data) if isinstance(data, dict) else {}


MAX_DEPTH = 24
MAX_ITEMS = 100_000
MAX_TEXT = 20_000
MAX_EPOCHS = 100_000
# The trace's top-level fields and their types; any other field, or one of another type, is dropped.
TRACE_FIELDS = {"status": str, "fits": list, "legacy": list, "model": dict, "error": dict, "seed": int,
                "versions": dict, "determinism": dict, "data_access": list, "cell_errors": list,
                "entry_point_called": str, "exit_code": (int, str), "import_s": (int, float), "run_s": (int, float),
                "exit_at": str, "stopped_at": str, "stopped_in": str, "commit_s": (int, float),
                "commit_thread_s": (int, float), "state_write_failures": int}
FIT_FIELDS = {"index": int, "line": int, "epochs_requested": (int, float), "epochs_allowed": int,
              "epochs_run": int, "capped": bool, "stopped_by": dict, "limit_hit": str, "history": dict,
              "epoch_times": list, "data": dict, "validation": dict, "callbacks": list, "callback_misses": list,
              "compile": dict, "output": dict, "fast_path": bool, "duration_s": (int, float), "error": str,
              "current_epoch": int, "replay": dict, "not_replayed": str}
# how a replayable fit ordered its batches (grader/harness/commit.py, grader/batchorder.py), or made them
# (kind "images": an ImageDataGenerator's settings, grader/harness/images.py), or recorded them (kind
# "recorded": a tf.data pipeline's, grader/harness/recorded.py; "pictures": its rows by their hashes alone)
REPLAY_FIELDS = {"batch_size": int, "shuffle": bool, "order_seed": int, "rows": int, "class_weight": dict,
                 "compile": dict, "kind": str, "generator": dict, "dtype": str, "pictures": bool,
                 "too_large": str, "files": dict}


def _bounded(value, depth: int = 0):
    """A JSON value with its depth, lengths and numbers bounded: non-finite floats become None."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) < 2**53 else None
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, list):
        return [_bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {str(k)[:200]: _bounded(v, depth + 1) for k, v in list(value.items())[:1000]}
    return value


def _typed(data: dict, fields: dict) -> dict:
    return {k: v for k, v in data.items() if k in fields and v is not None and isinstance(v, fields[k])
            and not (isinstance(v, bool) and fields[k] in (int, (int, float)))}


NUMBER = (int, float)
# What describes a fit's data (grader/harness/data.py), field by field: the checks compare these values
DATA_FIELDS = {"kind": str, "iterator": str, "directory": str, "type": str, "element_spec": str,
               "class_mode": str, "samples": int, "batch_size": int, "num_classes": int, "rescale": NUMBER,
               "random_transforms": dict, "fingerprint": list, "stages": list, "random_ops": list,
               "x": dict, "y": dict, "batch": dict, "fraction": NUMBER, "transforms_change_pictures": bool}
ARRAY_FIELDS = {"shape": list, "dtype": str, "min": NUMBER, "max": NUMBER}
COMPILE_FIELDS = {"loss": str, "from_logits": bool, "optimizer": str, "learning_rate": NUMBER}
OUTPUT_FIELDS = {"class": str, "units": int, "activation": str}


def _clean_data(data) -> dict | None:
    """A fit's data description with every nested value of the type the checks expect (the child wrote
    it, and the student's code runs in the child)."""
    if not isinstance(data, dict):
        return None
    d = _typed(data, DATA_FIELDS)
    for key in ("x", "y", "batch"):
        if key in d:
            d[key] = _typed(d[key], ARRAY_FIELDS)
            if "shape" in d[key]:
                d[key]["shape"] = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in d[key]["shape"]]
    for key in ("fingerprint", "stages", "random_ops"):
        if key in d:
            d[key] = [v for v in d[key] if isinstance(v, str)]
    if "random_transforms" in d:
        d["random_transforms"] = {
            k: v for k, v in d["random_transforms"].items()
            if isinstance(v, (int, float)) or (isinstance(v, list) and all(isinstance(x, NUMBER) and
                                                                          not isinstance(x, bool) for x in v))}
    return d


MAX_FITS = 5_000  # model.fit calls kept from a trace (a loop of one-epoch fits is a few hundred)
MODEL_FIELDS = {"found": bool, "source": str, "class": str, "fitted": bool, "fit_calls": list,
                "weights_changed_after_fit": bool, "learned_in_fit": bool, "saved": bool, "save_error": str,
                "not_keras": str, "error": str}
DETERMINISM_FIELDS = {"seed": int, "student_seeds": list, "caveats": list, "device": str, "op_determinism": bool,
                      "reason": str, "parallel_data": bool}
SEED_FIELDS = {"call": str, "value": str, "line": int}
VERSION_FIELDS = {"python": str, "tensorflow": str, "keras": str, "runtime": str, "intra_op_threads": int,
                  "inter_op_threads": int}
# the items of the trace's lists, field by field
ITEM_FIELDS = {"legacy": {"idiom": str, "modern": str, "line": int},
               "data_access": {"how": str, "line": int},
               "cell_errors": {"type": str, "message": str, "line": int, "where": str, "traceback": str, "cell": int}}
ERROR_FIELDS = {"type": str, "message": str, "line": int, "where": str, "text": str, "traceback": str}


def clean_trace(data: dict) -> dict:
    """The trace with every field, nested ones too, of the type the trusted side reads: a value of
    another type is dropped, never passed on to fail in a check or a template."""
    trace = _typed(_bounded(data), TRACE_FIELDS)
    if "model" in trace:
        trace["model"] = _typed(trace["model"], MODEL_FIELDS)
        if "fit_calls" in trace["model"]:
            trace["model"]["fit_calls"] = [i for i in trace["model"]["fit_calls"]
                                           if isinstance(i, int) and not isinstance(i, bool)]
    if "determinism" in trace:
        det = _typed(trace["determinism"], DETERMINISM_FIELDS)
        det["caveats"] = [c for c in det.get("caveats", []) if isinstance(c, str)]
        det["student_seeds"] = [_typed(x, SEED_FIELDS) for x in det.get("student_seeds", []) if isinstance(x, dict)]
        det["student_seeds"] = [x for x in det["student_seeds"] if "call" in x and "value" in x]
        trace["determinism"] = det
    if "versions" in trace:
        trace["versions"] = _typed(trace["versions"], VERSION_FIELDS)
    if "error" in trace:
        trace["error"] = _typed(trace["error"], ERROR_FIELDS)
    fits = []
    for f in trace.get("fits", [])[:MAX_FITS]:
        if not isinstance(f, dict) or not isinstance(f.get("index"), int) or isinstance(f.get("index"), bool):
            continue
        f = _typed(f, FIT_FIELDS)
        for key in ("epochs_requested", "epochs_allowed", "epochs_run"):
            if key in f:
                f[key] = min(max(int(f[key]), 0), MAX_EPOCHS)
        f["epochs_run"] = f.get("epochs_run", 0)
        f.setdefault("epochs_requested", f["epochs_run"])
        for key in ("data", "validation"):
            if key in f:
                f[key] = _clean_data(f[key])
                if f[key] is None:
                    del f[key]
        if "replay" in f:
            f["replay"] = _typed(f["replay"], REPLAY_FIELDS)
            if "class_weight" in f["replay"]:
                f["replay"]["class_weight"] = {k: v for k, v in list(f["replay"]["class_weight"].items())[:1000]
                                               if isinstance(v, NUMBER) and not isinstance(v, bool)}
            needed = {"images": {"batch_size", "generator", "dtype"}, "recorded": {"kind"}}.get(
                f["replay"].get("kind"), {"batch_size", "shuffle", "order_seed"})
            if not needed <= set(f["replay"]):
                del f["replay"]
        for key, fields in (("compile", COMPILE_FIELDS), ("output", OUTPUT_FIELDS)):
            if key in f:
                f[key] = _typed(f[key], fields)
        f["history"] = {k: [x if isinstance(x, (int, float)) and not isinstance(x, bool) else None
                            for x in v[:MAX_EPOCHS]]
                        for k, v in (f.get("history") or {}).items() if isinstance(v, list)}
        fits.append(f)
    trace["fits"] = fits
    for key, fields in ITEM_FIELDS.items():
        needed = next(iter(fields))  # an item without its first field (the idiom, the how, the type) says nothing
        items = [_typed(item, fields) for item in trace.get(key, [])[:1000] if isinstance(item, dict)]
        trace[key] = [item for item in items if needed in item]
    return trace


# One commitment to training, as the parent received it over the event pipe (grader/events.Commitments)
COMMIT_FIELDS = {"commit": str, "fit_index": int, "at_epoch": int, "steps": int, "weights": str, "optimizer": str,
                 "saved": bool, "logs": dict, "stop": bool, "rates": bool, "step": int, "optimizer_parts": list,
                 "rate": float}
MOST_PARTS = 20_000  # digests of an optimizer's variables in one commitment (InceptionV3 with Adam: about 1,000)


def clean_commitment(event: dict) -> dict | None:
    """A commitment with every field of the type the trusted side reads, or None when it is not one."""
    c = _typed(_bounded(event, MAX_DEPTH - 2), COMMIT_FIELDS)
    if c.get("commit") not in ("start", "end", "after", "mid") or "fit_index" not in c or "at_epoch" not in c or \
            (c["commit"] == "mid") != ("step" in c):
        return None
    for key in ("weights", "optimizer"):
        if key in c:
            c[key] = c[key][:64]
    parts = c.pop("optimizer_parts", None)
    if c["commit"] in ("start", "end") and isinstance(parts, list) and len(parts) <= MOST_PARTS and \
            all(isinstance(d, str) for d in parts):  # (kept as one text: a few bytes a variable)
        c["optimizer_parts"] = ",".join(d[:64].replace(",", "") for d in parts)
    if "logs" in c:
        c["logs"] = {k: v for k, v in list(c["logs"].items())[:100]
                     if v is None or (isinstance(v, NUMBER) and not isinstance(v, bool))}
    return c

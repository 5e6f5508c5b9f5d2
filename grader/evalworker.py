"""The evaluator process: loads the student's saved model as data and runs it on inputs the grader
hands over, in a sandbox of its own (no network, a memory limit, a read-only machine), so a model
crafted to blow up parsing, memory or time costs this process, never the grader.

It imports Keras once and then serves one *session* per student in a process forked for it from that
already-imported state: a student's model never shares a process with another student's, yet the
TensorFlow import (seconds of CPU) is paid once per evaluator, which ``grader batch`` keeps for a
worker's whole class. No TensorFlow op runs before the fork (its thread pools would not survive it).

Protocol, one JSON line each way on stdin / the original stdout:
  -> {"ready": true} once Keras is imported
  {"op": "session"}                            -> {"session": true} (from the session's own process)
  {"op": "load", "model": PATH}                -> {"ok": true, "input_shape": [...], "layers": [...],
                                                  "digests": [...]}
  {"op": "infer", "x": NPY, "out": NPY}        -> {"ok": true}   (arrays as .npy, never pickled)
  {"op": "replay", "model": PATH, "start": NPZ, "data": NPZ, "epoch": K, "steps": N, "batch_size": B,
   "shuffle": BOOL, "order_seed": S, "class_weight": {...} | null, "initial": {"start": NPZ} | null}
                                               -> {"ok": true, "weights": DIGEST, "optimizer": DIGEST, ...}
                                                  (grader/replay.py; "kind": "unreplayable" when it cannot)
  {"op": "end"}                                -> {"ended": true} (once the session's process is gone;
                                                  also sent, unasked, when that process dies)
Failures: {"ok": false, "kind": "unsafe" | "invalid" | "error", "type": NAME, "message": TEXT}.
"""

import json
import os
import signal
from pathlib import Path


def read_line() -> bytes | None:
    """One request line from fd 0, read byte by byte: nothing is buffered past it, so what follows
    belongs to whichever process reads next (the session's, after a fork)."""
    data = bytearray()
    while True:
        chunk = os.read(0, 1)
        if not chunk:
            return None
        if chunk == b"\n":
            return bytes(data)
        data += chunk
        if len(data) > 1 << 20:
            return None


def serve_session(replies, runtime: str):
    import numpy as np

    from grader import modelcheck

    model = None
    while (line := read_line()) is not None:
        request = json.loads(line)
        if request.get("op") == "end":
            return
        try:
            if request["op"] == "replay":
                from grader import replay

                try:
                    # (its working files in the evaluator's own folder, its working directory: what it reads is
                    # handed over in another, in memory where the run's states are)
                    reply = dict(replay.replay(request, Path.cwd(), runtime), ok=True)
                except replay.Unreplayable as exc:
                    reply = {"ok": False, "kind": "unreplayable", "type": "Unreplayable", "message": str(exc)[:2000]}
            elif request["op"] == "load":
                model = None
                path = Path(request["model"])
                model = modelcheck.load_model_safely(path, path.parent, runtime)
                reply = {"ok": True, "input_shape": modelcheck.input_shape(model),
                         "layers": modelcheck.layer_rows(model), "digests": modelcheck.weight_digests(model)}
            else:
                x = np.load(request["x"], allow_pickle=False)
                np.save(request["out"], modelcheck.infer(model, x), allow_pickle=False)
                reply = {"ok": True}
        except modelcheck.UnsafeModel as exc:
            reply = {"ok": False, "kind": "unsafe", "type": type(exc).__name__, "message": str(exc)[:2000]}
        except Exception as exc:
            kind = "invalid" if request["op"] == "load" else "error"
            reply = {"ok": False, "kind": kind, "type": type(exc).__name__, "message": str(exc)[:2000]}
        replies.write(json.dumps(reply, default=str) + "\n")
        replies.flush()


def main():
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # stray writes to fd 1 (TensorFlow's C++ side) cannot corrupt the protocol
    os.close(quiet)
    try:
        os.nice(19)  # imports Keras while the student's program trains: only with CPU it leaves idle
    except OSError:
        pass
    runtime = os.environ.get("GRADER_KERAS_RUNTIME", "keras3")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if runtime == "keras2":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy  # noqa: F401
    import tensorflow  # noqa: F401  (imported, no op run: the sessions are forked from here)

    if runtime == "keras2":
        import tf_keras  # noqa: F401
    else:
        import keras  # noqa: F401
    from grader import modelcheck  # noqa: F401

    replies.write(json.dumps({"ready": True}) + "\n")  # started: from here a failure is the model's
    replies.flush()
    kill_strays = os.environ.get("GRADER_EVAL_STRAYS") == "kill"  # only where this uid is the sandbox's own
    while (line := read_line()) is not None:
        if json.loads(line).get("op") != "session":
            continue
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                replies.write(json.dumps({"session": True}) + "\n")
                replies.flush()
                serve_session(replies, runtime)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        if kill_strays:  # whatever the session left behind (a daemon) goes with it
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        replies.write(json.dumps({"ended": True}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()

"""The evaluator process: loads the student's saved model as data and runs it on inputs the grader
hands over, in a sandbox of its own (no network, a memory limit, a read-only machine), so a model
crafted to blow up parsing, memory or time costs this process, never the grader.

Protocol: {"ready": true} once Keras is imported, then one JSON reply per JSON request (a line each)
on the original stdout.
  {"op": "load", "model": PATH}                -> {"ok": true, "input_shape": [...], "layers": [...]}
  {"op": "infer", "x": NPY, "out": NPY}        -> {"ok": true}   (arrays as .npy, never pickled)
Failures: {"ok": false, "kind": "unsafe" | "invalid" | "error", "type": NAME, "message": TEXT}.
"""

import json
import os
import sys
from pathlib import Path


def main():
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # stray writes to fd 1 (TensorFlow's C++ side) cannot corrupt the protocol
    os.close(quiet)
    try:
        os.nice(19)  # imports Keras while the student's program trains: only with CPU it leaves idle
    except OSError:
        pass
    import numpy as np

    from grader import modelcheck
    from grader.tfimport import import_keras_quietly

    runtime = os.environ.get("GRADER_KERAS_RUNTIME", "keras3")
    import_keras_quietly(runtime)
    replies.write(json.dumps({"ready": True}) + "\n")  # started: from here a failure is the model's
    replies.flush()
    model = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "load":
                model = None
                path = Path(request["model"])
                model = modelcheck.load_model_safely(path, path.parent, runtime)
                reply = {"ok": True, "input_shape": modelcheck.input_shape(model),
                         "layers": modelcheck.layer_rows(model)}
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


if __name__ == "__main__":
    main()

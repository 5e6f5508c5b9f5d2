"""Reporter ``github-classroom``: what GitHub Classroom's autograding reporter reads from a runner,
the step output ``result``: base64 of {"version": 1, "status": "pass|fail|error", "max_score": N,
"tests": [{"name", "status", "score", "max_score", "message", ...}]}. The line ``result=BASE64`` is
appended to PATH, which in a workflow is ``$GITHUB_OUTPUT`` (other outputs there are kept)."""

import base64
import json
from pathlib import Path

from grader.hookspecs import hookimpl
from grader.safetext import one_line

HIDDEN = "A hidden check: its details are not shown."


def result(report) -> dict:
    data = report.to_dict()
    tests = []
    for c in data["checks"]:
        status = {"passed": "pass", "error": "error"}.get(c["status"], "fail")
        tests.append({"name": c["title"], "status": status, "score": c["score"], "max_score": c["max_score"],
                      "message": one_line(c["message"]) if c["visibility"] != "hidden" else HIDDEN,
                      "line_no": 0, "execution_time": "0s", "test_code": c["name"], "filename": ""})
    status = "error" if any(t["status"] == "error" for t in tests) else (
        "pass" if data["score"] >= data["max_score"] else "fail")
    return {"version": 1, "status": status, "max_score": data["max_score"], "tests": tests}


def write(report, path):
    encoded = base64.b64encode(json.dumps(result(report)).encode()).decode()
    if str(path) == "-":
        print(f"result={encoded}")
        return
    with open(Path(path), "a", encoding="utf-8") as f:
        f.write(f"result={encoded}\n")


@hookimpl
def grader_register_reporters(register):
    register("github-classroom", write)

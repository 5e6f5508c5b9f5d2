"""Reporter ``gradescope``: results.json in Gradescope's autograder format."""

import json

from grader.hookspecs import hookimpl
from grader.output import atomic_write
from grader.safetext import fenced, one_line


def render(report) -> str:
    data = report.to_dict()
    tests = []
    for c in data["checks"]:
        output = one_line(c["message"]) + (f"\nHint: {one_line(c['hint'])}" if c.get("hint") else "")
        tests.append({"name": c["title"], "score": c["score"], "max_score": c["max_score"],
                      "output": output, "status": "passed" if c["status"] == "passed" else "failed",
                      "visibility": "hidden" if c["visibility"] == "hidden" else "visible"})
    run = data["run"]
    summary = f"{data['title']}: {data['score']:g}/{data['max_score']:g} points."
    for warning in run.get("warnings") or []:  # a weaker sandbox is said, never silent
        summary += "\nNote: " + one_line(warning)
    if run.get("error"):
        summary += "\nYour program's error:\n" + fenced(run["error"].get("traceback", ""))
    result = {"score": data["score"], "output": summary, "tests": tests,
              "execution_time": round(data["duration_s"], 1), "visibility": "visible"}
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def write(report, path):
    atomic_write(path, render(report))


@hookimpl
def grader_register_reporters(register):
    register("gradescope", write)

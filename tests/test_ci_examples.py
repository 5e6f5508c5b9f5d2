"""The GitHub Actions examples: their shell steps run here as the runner would run them (the
install step excepted: the grader is installed already), and what they upload exists."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import EXERCISES, ROOT

EXAMPLES = ROOT / "examples" / "github-actions"


def expand(text: str, env: dict, matrix: dict, outputs: dict | None = None) -> str:
    text = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: matrix[m.group(1)], text)
    text = re.sub(r"\$\{\{\s*steps\.(\w+)\.outputs\.(\w+)\s*\}\}",
                  lambda m: (outputs or {}).get(m.group(1), {}).get(m.group(2), ""), text)
    return re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: env[m.group(1)], text)


def run_job(workflow: dict, job: str, workdir: Path, matrix: dict | None = None, on_uses=None) -> dict:
    """Run a job's `run:` steps with bash, as Actions does (-e, GITHUB_ENV honoured); returns the env."""
    matrix = matrix or {}
    env = dict(os.environ, **{k: str(v) for k, v in workflow.get("env", {}).items()})
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    github_env = workdir / ".github_env"
    github_env.write_text("")
    env["GITHUB_ENV"] = str(github_env)
    outputs: dict = {}  # step id -> its outputs ($GITHUB_OUTPUT), for ${{ steps.ID.outputs.NAME }}
    for step in workflow["jobs"][job]["steps"]:
        if step.get("id") == "install":
            assert "pip install" in step["run"]
            continue
        if "uses" in step:
            if on_uses:
                step = dict(step, env={k: expand(str(v), env, matrix, outputs) for k, v in (step.get("env") or {}).items()})
                on_uses(step, env, matrix)
            continue
        script = expand(step["run"], env, matrix, outputs)
        github_output = workdir / ".github_output"
        github_output.write_text("")
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=workdir,
                              env=dict(env, GITHUB_OUTPUT=str(github_output)), capture_output=True, text=True)
        assert done.returncode == 0, (step.get("name"), done.stdout, done.stderr)
        if step.get("id"):
            outputs[step["id"]] = dict(line.split("=", 1) for line in github_output.read_text().splitlines()
                                       if "=" in line)
        for line in github_env.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
    return env


def uploaded(workdir: Path, seen: list):
    def on_uses(step, env, matrix):
        if step["uses"].startswith("actions/upload-artifact"):
            seen.append(workdir / expand(step["with"]["path"], env, matrix))
    return on_uses


def test_the_submission_workflow_grades_and_uploads_the_report(tmp_path):
    workflow = yaml.safe_load((EXAMPLES / "grade-submission.yml").read_text())
    (tmp_path / "submission").mkdir()
    shutil.copy(EXERCISES / "hello_world" / "solution.py", tmp_path / "submission" / "solution.py")
    seen = []
    run_job(workflow, "grade", tmp_path, on_uses=uploaded(tmp_path, seen))
    assert seen == [tmp_path / "grader-output/"]
    assert sorted(p.name for p in seen[0].iterdir()) == ["junit.xml", "report.html", "report.json", "results.json"]
    assert "10 / 10 points" in (seen[0] / "report.html").read_text()


def test_the_class_workflow_grades_shards_and_merges_them(tmp_path):
    workflow = yaml.safe_load((EXAMPLES / "grade-class.yml").read_text())
    (tmp_path / "submissions").mkdir()
    for name in ("ana", "ben", "cem"):
        (tmp_path / "submissions" / f"{name}.py").write_text("x = (\n")
    artifacts = []
    for shard in workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]:
        run_job(workflow, "shard", tmp_path, {"shard": shard}, on_uses=uploaded(tmp_path, artifacts))
    assert [p.name for p in artifacts] == ["shard-1-2", "shard-2-2"]

    def download(step, env, matrix):
        if step["uses"].startswith("actions/download-artifact"):
            for artifact in artifacts:
                shutil.copytree(artifact, tmp_path / step["with"]["path"] / artifact.name)

    run_job(workflow, "merge", tmp_path, on_uses=download)
    gradebook = (tmp_path / "class" / "gradebook.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in gradebook] == ["student", "ana", "ben", "cem"]
    assert (tmp_path / "class" / "index.html").is_file() and (tmp_path / "class" / "junit.xml").is_file()


def test_the_classroom_workflow_hands_the_reporter_partial_points(tmp_path):
    import base64
    import json

    workflow = yaml.safe_load((EXAMPLES / "classroom.yml").read_text())
    (tmp_path / "solution.py").write_text((ROOT / "tests" / "submissions" / "hello_world" / "too_few_epochs.py")
                                          .read_text())
    received = []

    def reporter(step, env, matrix):
        if step["uses"].startswith("classroom-resources/autograding-grading-reporter"):
            received.append(step["env"]["GRADE_RESULTS"])

    run_job(workflow, "run-autograding-tests", tmp_path, on_uses=reporter)
    result = json.loads(base64.b64decode(received[0]))
    assert (result["version"], result["status"], result["max_score"]) == (1, "fail", 10)
    assert [(t["name"], t["status"], t["score"]) for t in result["tests"]] == [
        ("Predicts y for x = 10", "fail", 0), ("A Keras model was trained with model.fit", "pass", 2),
        ("The program stayed within the time and memory limits", "pass", 1), ("Predicts well away from the training points", "fail", 1)]
    assert sum(t["score"] for t in result["tests"]) == 4  # the file's expect-score: partial points per check
    assert result["tests"][3]["message"] == "A hidden check: its details are not shown."


def test_the_workflows_install_bubblewrap():
    for name in ("grade-submission.yml", "grade-class.yml", "classroom.yml"):
        workflow = yaml.safe_load((EXAMPLES / name).read_text())
        installs = [s["run"] for job in workflow["jobs"].values() for s in job["steps"] if s.get("id") == "install"]
        assert installs and all("apt-get install -y -qq bubblewrap" in run for run in installs), name


def test_the_classroom_workflow_gives_a_missing_submission_a_zero_and_the_reason(tmp_path):
    import base64
    import json

    workflow = yaml.safe_load((EXAMPLES / "classroom.yml").read_text())
    received = []

    def reporter(step, env, matrix):
        if step["uses"].startswith("classroom-resources/autograding-grading-reporter"):
            received.append(step["env"]["GRADE_RESULTS"])

    run_job(workflow, "run-autograding-tests", tmp_path, on_uses=reporter)  # no solution.py committed
    result = json.loads(base64.b64decode(received[0]))
    assert (result["status"], result["max_score"]) == ("fail", 10)
    assert sum(t["score"] for t in result["tests"]) == 0
    assert result["tests"][0]["message"] == ("Your submission could not be graded: No such file: solution.py. Give the "
                                             "path of your .py or .ipynb file.")

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


def expand(text: str, env: dict, matrix: dict) -> str:
    text = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: matrix[m.group(1)], text)
    return re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: env[m.group(1)], text)


def run_job(workflow: dict, job: str, workdir: Path, matrix: dict | None = None, on_uses=None) -> dict:
    """Run a job's `run:` steps with bash, as Actions does (-e, GITHUB_ENV honoured); returns the env."""
    matrix = matrix or {}
    env = dict(os.environ, **{k: str(v) for k, v in workflow.get("env", {}).items()})
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    github_env = workdir / ".github_env"
    github_env.write_text("")
    env["GITHUB_ENV"] = str(github_env)
    for step in workflow["jobs"][job]["steps"]:
        if step.get("id") == "install":
            assert "pip install" in step["run"]
            continue
        if "uses" in step:
            if on_uses:
                on_uses(step, env, matrix)
            continue
        script = expand(step["run"], env, matrix)
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=workdir, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, (step.get("name"), done.stdout, done.stderr)
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

"""Issue 6: grading a whole class, resumable, sharded and merged, on a Dask cluster, and in CI."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import EXERCISES, run_cli

SOLUTION = (EXERCISES / "hello_world" / "solution.py").read_text()
STARTER = (EXERCISES / "hello_world" / "starter.py").read_text()


def make_class(root: Path) -> Path:
    """A class as a course's submission export looks: files, folders, and the usual accidents."""
    root.mkdir()
    (root / "alice.py").write_text(SOLUTION)
    (root / "bob").mkdir()
    (root / "bob" / "week1.py").write_text(STARTER)  # a folder with one file: the folder names the student
    (root / "carol.py").write_text("x = (\n")  # a syntax error: graded, 0 points
    (root / "dave").mkdir()  # an empty folder: no submission
    (root / "erin.ipynb").write_text("{not json")  # a broken notebook
    (root / "frank.py").write_text("import time\ntime.sleep(1000)\n")  # hangs: stopped at the time limit
    (root / "gina.py").write_text("import numpy as np\nbig = np.ones(10 * 2**30, dtype=np.uint8)\n")  # 10 GiB > 6 GiB
    (root / "notes.txt").write_text("not a submission")
    return root


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    submissions = make_class(base / "submissions")
    out = base / "out"
    result = run_cli("batch", "hello_world", submissions, "--out", out, "--workers", "2", "--time-limit", "60",
                     "--junit", base / "class.xml")
    return result, submissions, out, base


def test_a_class_is_graded_with_a_gradebook_and_a_summary(graded_class):
    result, _, out, _ = graded_class
    assert result.exit_code == 0, result.output
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "score", "max_score", "predicts_31_at_10", "trained_with_fit",
                             "within_limits", "learned_the_line", "status", "duration_s", "training_record",
                             "training_verified"]
    # hello_world carries its own data: its record of training cannot be held against the model; its training
    # is verified by replaying epochs of it
    assert {r["student"]: r["training_record"] for r in rows}["alice"] == "unverifiable"
    assert {r["student"]: r["training_verified"] for r in rows}["alice"] == "verified"
    got = {r["student"]: (r["score"], r["status"]) for r in rows}
    assert got == {"alice": ("10", "graded"), "bob": ("3", "graded"), "carol": ("0", "graded"),
                   "dave": ("0", "invalid"), "erin": ("0", "invalid"), "frank": ("0", "graded"),
                   "gina": ("0", "graded")}
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["students"], summary["graded"], summary["full_marks"]) == (7, 5, 1)
    assert summary["invalid"] == ["dave", "erin"] and summary["grader_errors"] == []
    assert summary["mean_score"] == round(13 / 7, 3)  # invalid submissions count 0, as in the gradebook
    rates = {c["name"]: (c["passed"], c["total"]) for c in summary["checks"]}
    assert rates == {"predicts_31_at_10": (1, 5), "trained_with_fit": (2, 5), "within_limits": (2, 5),
                     "learned_the_line": (1, 5)}
    assert summary["histogram"]["counts"] == [5, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert "invalid submission: dave: No submission to grade: the folder dave/ holds no .py or .ipynb file." in result.output
    assert "Skipped, not a .py or .ipynb file or a student's folder: notes.txt" in result.output


def test_each_student_has_reports_and_the_dashboard_links_them(graded_class):
    _, _, out, _ = graded_class
    alice = out / "students" / "alice"
    assert json.loads((alice / "report.json").read_text())["score"] == 10
    gradescope = json.loads((alice / "results.json").read_text())
    assert gradescope["score"] == 10 and {t["visibility"] for t in gradescope["tests"]} == {"visible", "hidden"}
    frank = json.loads((out / "students" / "frank" / "report.json").read_text())
    assert frank["run"]["timed_out"] is True
    gina = json.loads((out / "students" / "gina" / "report.json").read_text())
    assert gina["run"]["status"] == "memory" and gina["run"]["memory_exceeded"] is True
    html = (out / "index.html").read_text()
    assert '<a href="students/alice/report.html">alice</a>' in html
    assert 'id="distribution"' in html and 'id="errors"' in html
    assert "invalid submission: erin.ipynb is not a valid notebook" in html
    # an invalid student has reports too: 0 points and the reason, for CI platforms and the student
    dave = out / "students" / "dave"
    assert json.loads((dave / "results.json").read_text())["score"] == 0
    assert "the folder dave/ holds no .py or .ipynb file" in (dave / "report.html").read_text()
    assert '<a href="students/dave/report.html">dave</a>' in html


def test_junit_has_a_testsuite_per_student(graded_class):
    _, _, _, base = graded_class
    root = ET.parse(base / "class.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert sorted(suites) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]
    assert (suites["alice"].get("tests"), suites["alice"].get("failures")) == ("4", "0")
    assert (suites["bob"].get("tests"), suites["bob"].get("failures")) == ("4", "2")
    assert suites["dave"].find("testcase/failure").get("type") == "invalid"


def test_resume_regrades_only_what_changed(graded_class, tmp_path):
    _, submissions, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = (copy / "students" / "alice" / "report.json").stat().st_mtime_ns
    shutil.copytree(submissions, tmp_path / "subs")
    (tmp_path / "subs" / "carol.py").write_text(SOLUTION)  # carol fixed her submission
    result = run_cli("batch", "hello_world", tmp_path / "subs", "--out", copy, "--resume", "--time-limit", "60")
    assert result.exit_code == 0, result.output
    assert "6 of 7 already graded and unchanged (--resume): skipped." in result.output
    assert (copy / "students" / "alice" / "report.json").stat().st_mtime_ns == before
    with open(copy / "gradebook.csv", newline="") as f:
        assert {r["student"]: r["score"] for r in csv.DictReader(f)}["carol"] == "10"


def test_the_grader_failing_on_students_exits_3_and_names_them(tmp_path, monkeypatch):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "x1.py").write_text("x = (\n")
    (subs / "x2.py").write_text("y = )\n")
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "report.html").write_text("{% if %}")  # an instructor's broken template override
    monkeypatch.setenv("GRADER_TEMPLATES", str(broken))
    result = run_cli("batch", "hello_world", subs, "--out", tmp_path / "out")
    assert result.exit_code == 3
    assert "grader: the grader itself failed on: x1 (internal error of the grader (not your code): the html " \
           "reporter failed: TemplateSyntaxError" in result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["grader_errors"] == ["x1", "x2"]


def test_shards_split_the_class_and_merge_back(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a", "b", "c", "d", "e"):
        (subs / f"{name}.py").write_text("x = (\n")
    outs = []
    for k in ("1/2", "2/2"):
        out = tmp_path / f"shard{k[0]}"
        assert run_cli("batch", "hello_world", subs, "--out", out, "--shard", k).exit_code == 0
        outs.append(out)
    assert sorted(p.name for p in (outs[0] / "students").iterdir()) == ["a", "c", "e"]
    assert sorted(p.name for p in (outs[1] / "students").iterdir()) == ["b", "d"]
    result = run_cli("merge", tmp_path / "all", *outs)
    assert result.exit_code == 0, result.output
    assert "Merged 5 students from 2 shard(s)" in result.output
    with open(tmp_path / "all" / "gradebook.csv", newline="") as f:
        assert [r["student"] for r in csv.DictReader(f)] == ["a", "b", "c", "d", "e"]
    assert run_cli("batch", "hello_world", subs, "--out", tmp_path / "x", "--shard", "3/2").exit_code == 2
    # one shard twice, or the output among the shards, is refused; a shard left out is said
    twice = run_cli("merge", tmp_path / "twice", outs[0], outs[0])
    assert twice.exit_code == 2 and "the same shard folder is given twice" in twice.output
    into = run_cli("merge", outs[0], outs[0], outs[1])
    assert into.exit_code == 2 and f"{outs[0]} is one of the shards; merge into a new folder." in into.output
    half = run_cli("merge", tmp_path / "half", outs[0])
    assert half.exit_code == 0 and "shard(s) 2/2 of the class were not given" in half.output


def test_bad_batch_input_is_a_usage_error(tmp_path):
    result = run_cli("batch", "hello_world", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "is not a folder" in result.output
    (tmp_path / "empty").mkdir()
    result = run_cli("batch", "hello_world", tmp_path / "empty", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "holds no submissions" in result.output
    assert not (tmp_path / "out").exists()  # nothing left behind
    (tmp_path / "a_file").write_text("")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "alice.py").write_text("x = (\n")
    result = run_cli("batch", "hello_world", tmp_path / "class", "--out", tmp_path / "a_file")
    assert result.exit_code == 2
    assert f"--out {tmp_path / 'a_file'}: cannot create the output folder there (Not a directory)" in result.output


def running_in(folder: Path) -> list[int]:
    """Processes whose working directory is inside ``folder`` (the student's child runs in its workdir)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(proc.joinpath("cwd").resolve()).startswith(str(folder)):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_ctrl_c_keeps_finished_students_and_resume_finishes(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a_fast.py").write_text("x = (\n")
    (subs / "b_slow.py").write_text("import time\ntime.sleep(1000)\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "grader", "batch", "hello_world", str(subs), "--out", str(out), "--workers", "1",
           "--time-limit", "120"]
    (tmp_path / "work").mkdir()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, GRADER_WORK_DIR=str(tmp_path / "work")))
    deadline = time.time() + 120
    while not (out / "students" / "a_fast" / "meta.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    while not running_in(tmp_path / "work") and time.time() < deadline:
        time.sleep(0.2)
    assert running_in(tmp_path / "work")  # b_slow's program is running
    os.killpg(proc.pid, signal.SIGINT)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 130, output
    assert "interrupted; 1 of 2 students are finished and kept" in output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["students"], summary["class_size"], summary["not_finished"]) == (1, 2, 1)
    assert "1 of the class's 2 students are not graded yet" in (out / "index.html").read_text()
    assert (out / "students" / "a_fast" / "report.json").is_file()
    assert not (out / "students" / "b_slow" / "meta.json").exists()
    deadline = time.time() + 10  # no process is left working in b_slow's folders
    while running_in(tmp_path / "work") and time.time() < deadline:
        time.sleep(0.2)
    assert running_in(tmp_path / "work") == []
    (subs / "b_slow.py").write_text("y = )\n")
    result = run_cli("batch", "hello_world", subs, "--out", out, "--resume", "--time-limit", "120")
    assert result.exit_code == 0 and "1 of 2 already graded and unchanged (--resume): skipped." in result.output


def test_the_dask_executor_grades_on_a_local_cluster(tmp_path):
    from distributed import LocalCluster

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text(SOLUTION)
    (subs / "carol.py").write_text("x = (\n")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        result = run_cli("batch", "hello_world", subs, "--out", tmp_path / "out", "--executor", "dask",
                         "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        assert {r["student"]: r["score"] for r in csv.DictReader(f)} == {"alice": "10", "carol": "0"}
    assert json.loads((tmp_path / "out" / "students" / "alice" / "report.json").read_text())["score"] == 10
    result = run_cli("batch", "hello_world", subs, "--out", tmp_path / "o2", "--executor", "dask")
    assert result.exit_code == 2 and "--executor dask needs --scheduler ADDRESS" in result.output

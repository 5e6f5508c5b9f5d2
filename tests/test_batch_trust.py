"""A class batch you can trust (issue 26): from any folder, with every option, every student kept apart,
every failure explained."""

import csv
import json

from conftest import EXERCISES, run_cli
from grader.terminal import BatchProgress

SOLUTION = (EXERCISES / "hello_world" / "solution.py").read_text()


def _rows(out):
    with open(out / "gradebook.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_a_batch_started_beside_a_clone_named_grader_grades_with_every_report(tmp_path, monkeypatch):
    here = tmp_path / "course"
    (here / "grader").mkdir(parents=True)  # what `git clone .../grader` leaves in the folder
    (here / "grader" / "__init__.py").write_text("raise ImportError('the clone, not the installed grader')\n")
    submissions = here / "class"
    submissions.mkdir()
    (submissions / "alice.py").write_text(SOLUTION)
    (submissions / "eve y.py").write_text(SOLUTION)  # two ids that sanitise alike keep two folders and rows
    (submissions / "eve_y.py").write_text("x = (\n")
    monkeypatch.chdir(here)
    out = here / "out"
    result = run_cli("batch", "hello_world", submissions, "--out", out, "--workers", "2",
                     "--report", "github-classroom=classroom.txt", "--report", "json=extra.json",
                     "--report", "html=extra.html")
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert {k: (r["score"], r["status"]) for k, r in rows.items()} == {
        "alice": ("10", "graded"), "eve y": ("10", "graded"), "eve_y": ("0", "graded")}
    folders = sorted(p.name for p in (out / "students").iterdir())
    assert len(folders) == 3 and "eve_y" in folders and "alice" in folders
    mapped = next(f for f in folders if f.startswith("eve_y-"))
    assert f"'eve y' -> {out / 'students' / mapped}" in result.output
    alice = out / "students" / "alice"
    for name in ("report.json", "report.html", "results.json", "classroom.txt", "extra.json", "extra.html", "meta.json"):
        assert (alice / name).is_file(), name
    assert json.loads((alice / "extra.json").read_text())["score"] == 10
    assert (alice / "classroom.txt").read_text().startswith("result=")
    # the student's reports name the submission as the student named it, not the worker's copy
    assert json.loads((alice / "report.json").read_text())["submission"] == "alice.py"
    assert "grader-batch-" not in (alice / "report.html").read_text()
    # which extra reports are written is no reason to grade again
    again = run_cli("batch", "hello_world", submissions, "--out", out, "--resume")
    assert again.exit_code == 0, again.output
    assert "3 of 3 already graded and unchanged (--resume): skipped." in again.output
    assert (alice / "classroom.txt").is_file()  # kept: alice was not graded again
    # a student graded again without the --report: no stale report contradicts the new grade
    (submissions / "alice.py").write_text("x = (\n")
    third = run_cli("batch", "hello_world", submissions, "--out", out, "--resume")
    assert third.exit_code == 0, third.output
    assert not (alice / "classroom.txt").exists() and not (alice / "extra.json").exists()
    assert json.loads((alice / "report.json").read_text())["score"] == 0


def test_a_worker_that_dies_says_why(tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    (broken / "grader").mkdir(parents=True)
    (broken / "grader" / "__init__.py").write_text("raise ImportError('the worker could not import the grader')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))  # reaches the worker's Python only: the sandboxes run python -I
    submissions = tmp_path / "class"
    submissions.mkdir()
    (submissions / "alice.py").write_text(SOLUTION)
    out = tmp_path / "out"
    result = run_cli("batch", "hello_world", submissions, "--out", out, "--workers", "1")
    assert result.exit_code == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["grader_errors"] == ["alice"]
    message = summary["errors"][0]["message"]
    assert message.startswith("the grading process ended unexpectedly (exit code ")
    assert message.endswith("ImportError: the worker could not import the grader")
    assert "ImportError: the worker could not import the grader" in (out / "index.html").read_text()


def test_a_report_file_name_that_would_replace_a_standard_one_is_refused(tmp_path):
    submissions = tmp_path / "class"
    submissions.mkdir()
    (submissions / "alice.py").write_text(SOLUTION)
    result = run_cli("batch", "hello_world", submissions, "--out", tmp_path / "out", "--report", "json=report.html")
    assert result.exit_code == 2
    assert ("--report json=report.html: report.html is one of the files every student's folder already holds; "
            "give another file name.") in result.output


def test_the_time_left_is_the_median_grading_times_what_is_left_per_worker():
    progress = BatchProgress(tty=False, workers=2)
    progress.start(7, 0)
    assert progress.time_left() == ""  # nothing finished: no guess
    for seconds in (10.0, 30.0, 12.0):
        progress.durations.append(seconds)
        progress.done_count += 1
    # 4 left on 2 workers: 2 rounds of the median 12 s
    assert progress.time_left() == ", about 24 s left"


def test_a_class_is_not_graded_without_the_full_sandbox_unless_asked(tmp_path, monkeypatch):
    submissions = tmp_path / "class"
    submissions.mkdir()
    (submissions / "alice.py").write_text(SOLUTION)
    monkeypatch.setenv("GRADER_ISOLATION", "process-group")
    refused = run_cli("batch", "hello_world", submissions, "--out", tmp_path / "out")
    assert refused.exit_code == 2
    assert "grader batch grades a class only in the full sandbox, and GRADER_ISOLATION asks for less" in refused.output
    assert "add --allow-weak-sandbox" in refused.output
    assert not (tmp_path / "out").exists()
    allowed = run_cli("batch", "hello_world", submissions, "--out", tmp_path / "out", "--allow-weak-sandbox")
    assert allowed.exit_code == 0, allowed.output
    report = json.loads((tmp_path / "out" / "students" / "alice" / "report.json").read_text())
    assert (report["score"], report["run"]["isolation"]) == (10, "process-group")

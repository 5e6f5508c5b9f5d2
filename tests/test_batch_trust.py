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
    assert "The same command with --resume grades them again." in result.output
    monkeypatch.delenv("PYTHONPATH")  # the cause fixed: a resume grades again what the grader failed on
    again = run_cli("batch", "hello_world", submissions, "--out", out, "--workers", "1", "--resume")
    assert again.exit_code == 0, again.output
    assert _rows(out)["alice"]["score"] == "10"


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


def test_what_an_instructor_gets_wrong_is_refused_before_any_grading(tmp_path):
    """Each refusal names what was wrong, exits 2, grades nobody and changes no file."""
    submissions = tmp_path / "class"
    submissions.mkdir()
    (submissions / "alice.py").write_text(SOLUTION)
    other = tmp_path / "other"
    other.mkdir()
    (other / "batch.json").write_text(json.dumps({"exercise": "house_prices"}))
    cases = {
        ("--out", other): f"--out {other} holds the results of the exercise 'house_prices', not 'hello_world'",
        ("--junit", submissions / "alice.py"): "is inside the submissions folder",
        ("--junit", tmp_path / "out" / "index.html"): "would replace one of the batch's own files",
        ("--junit", tmp_path): "is a folder; give a file name for the JUnit report",
        ("--report", "junit=a.xml", "--report", "json=a.xml"): "--report junit=a.xml writes a.xml too",
        ("--report", "nosuch=x.txt"): "no reporter named 'nosuch'. Known reporters: ",
        ("--report", "junit=sub/j.xml"): "so give a plain file name (like j.xml), not a path",
    }
    for extra, message in cases.items():
        args = ("--out", tmp_path / "out") + extra if extra[0] != "--out" else extra
        result = run_cli("batch", "hello_world", submissions, *args)
        assert result.exit_code == 2 and message in result.output, (extra, result.output)
    assert (submissions / "alice.py").read_text() == SOLUTION
    assert not (tmp_path / "out" / "students").exists() and sorted(p.name for p in other.iterdir()) == ["batch.json"]


def test_the_class_as_it_is_now_an_out_folder_inside_it_and_a_report_asked_for_later(tmp_path):
    submissions = tmp_path / "class"
    submissions.mkdir()
    (submissions / "alice.py").write_text(SOLUTION)
    (submissions / "bob.py").write_text("x = (\n")
    out = submissions / "out"  # an instructor's --out inside the class folder is not a student
    first = run_cli("batch", "hello_world", submissions, "--out", out)
    assert first.exit_code == 0, first.output
    assert sorted(_rows(out)) == ["alice", "bob"]
    # a --report first asked for on --resume is written for the students kept, from their report
    (submissions / "bob.py").unlink()  # and bob left the course: his folder stays, his row goes
    again = run_cli("batch", "hello_world", submissions, "--out", out, "--resume",
                    "--report", "github-classroom=classroom.txt")
    assert again.exit_code == 0, again.output
    assert "1 of 1 already graded and unchanged (--resume): skipped." in again.output
    assert (out / "students" / "alice" / "classroom.txt").read_text().startswith("result=")
    assert sorted(_rows(out)) == ["alice"]
    assert json.loads((out / "summary.json").read_text())["left_out"] == ["bob"]
    assert "1 student folder(s) in" in again.output and (out / "students" / "bob" / "meta.json").is_file()

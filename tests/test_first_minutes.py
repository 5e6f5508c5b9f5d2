"""A student's first minutes: a wrong output path fails before any training, reports are readable by
others as any new file, and a closed pipe ends the command quietly."""

import json
import re
import os
import subprocess
import sys

from conftest import EXERCISES, run_cli


def test_an_output_path_that_cannot_be_written_fails_before_any_training(tmp_path):
    for option, path in (("--json", "/proc/r.json"), ("--html", str(tmp_path)), ("--junit", "/proc/x/j.xml")):
        result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", option, path)
        assert result.exit_code == 2, result.output
        assert "points" not in result.output  # nothing was graded
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", "--html", tmp_path)
    assert f"grader: {tmp_path} is a folder; give a file name for the html report." in result.output
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", "--json", "/proc/r.json")
    assert "grader: Cannot write the json report to /proc/r.json: No such file or directory." in result.output


def test_reports_honour_the_umask(tmp_path):
    script = ("import os, sys; os.umask(int(sys.argv[1], 8)); from grader.output import atomic_write; "
              "atomic_write(sys.argv[2], 'x')")
    for mask, mode in (("022", 0o644), ("077", 0o600), ("002", 0o664)):
        target = tmp_path / f"r{mask}.json"
        subprocess.run([sys.executable, "-c", script, mask, str(target)], check=True)
        assert os.stat(target).st_mode & 0o777 == mode


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    env = dict(os.environ)
    # `true` reads nothing and is gone long before the grader (seconds to start) writes its first line
    listed = subprocess.run(["bash", "-o", "pipefail", "-c", f"{sys.executable} -m grader list | true"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert (listed.returncode, listed.stderr) == (0, "")
    out = tmp_path / "r.json"
    graded = subprocess.run(["bash", "-c", f"{sys.executable} -m grader grade hello_world "
                                           f"{EXERCISES / 'hello_world' / 'solution.py'} --json {out} | true; "
                                           "exit ${PIPESTATUS[0]}"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert graded.returncode == 0 and "internal error" not in graded.stderr
    assert json.loads(out.read_text())["score"] == 10


def test_the_terminal_says_each_cause_once_and_names_a_stand_in(tmp_path, standin):
    (tmp_path / "broken.py").write_text("import tensorflow as tf\nmodel = tf.keras.Sequential(\n")
    result = run_cli("grade", "hello_world", tmp_path / "broken.py")
    lines = result.output.splitlines()
    assert lines[1] == ("  [FAIL ] Predicts y for x = 10 (0/4): Your code could not run: a syntax error at line 2 "
                        "('(' was never closed).")
    assert lines[3] == "  [FAIL ] A Keras model was trained with model.fit (0/2): the same reason as above"
    assert sum("What to try:" in line for line in lines) == 1
    assert "below" not in result.output  # nothing refers to a section only the HTML page has
    result = run_cli("grade", "mnist_callback", EXERCISES / "mnist_callback" / "starter.py", "--data-dir", standin)
    assert result.output.splitlines()[1] == (
        "  Data: a stand-in for mnist (generated with `grader data synth`), not the real dataset: these scores "
        "are not those the real data would give.")


def test_the_readme_synopsis_and_grade_help_name_the_same_options():
    from conftest import ROOT

    synopsis = next(line for line in (ROOT / "README.md").read_text().splitlines()
                    if line.startswith("`grader grade EXERCISE SUBMISSION"))
    helped = run_cli("grade", "--help").output
    options = sorted({m for m in re.findall(r"(--[a-z-]+)(?: [A-Z=]+)?", helped) if m != "--help"})
    assert sorted(set(re.findall(r"(--[a-z-]+)", synopsis))) == options
    for option, metavar in re.findall(r"\[(--[a-z-]+) ([A-Z=]+)\]", synopsis):
        assert f"{option} {metavar}" in helped  # the same placeholder in both

"""Adversarial submissions (tests/submissions/adversarial): each ends in a graded report with the right
verdict, the grader alive, nothing left running, nothing hidden revealed. All bounded: no real fork
bomb, memory and disk capped by the grader's own limits."""

import os
import socket
import time

import pytest

from conftest import EXERCISES, SUBMISSIONS, by_name, hello_world_with, run_cli
from grader import sandbox
from grader.grading import grade

ADVERSARIAL = SUBMISSIONS / "adversarial"


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    """hello_world with small limits, so misbehaviour meets them quickly."""
    return hello_world_with(tmp_path_factory.mktemp("ex") / "hello_tight", memory_mib=1536, processes=160,
                            file_mib=16, disk_mib=200)


def run(exercise, name, tmp_path, **replace):
    source = (ADVERSARIAL / name).read_text()
    for key, value in replace.items():
        source = source.replace(key, value)
    path = tmp_path / name
    path.write_text(source)
    return grade(exercise, path, time_limit=60).to_dict()


def test_this_machine_gives_the_strongest_isolation():
    assert sandbox.bubblewrap_available() is True
    box = sandbox.open_sandbox(512, 64)
    try:
        assert (box.mode, box.warnings) == ("bubblewrap", [])
        assert box.cgroup is not None
    finally:
        box.close()


def test_hidden_spec_solution_and_data_are_not_readable(tight, tmp_path):
    report = run(tight, "read_hidden.py", tmp_path)
    assert "nothing hidden was readable 0" in report["run"]["output_tail"]
    assert report["score"] == 10
    assert report["run"]["isolation"] == "bubblewrap"


def test_no_network_not_even_loopback(tight, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        report = run(tight, "network.py", tmp_path, PORT=str(server.getsockname()[1]))
    finally:
        server.close()
    out = report["run"]["output_tail"]
    assert "blocked 127.0.0.1" in out and "blocked 8.8.8.8" in out and "CONNECTED" not in out


def test_a_process_in_a_new_session_does_not_survive(tight, tmp_path):
    report = run(tight, "escape_setsid.py", tmp_path)
    assert report["run"]["status"] == "ok"
    assert "started a session leader" in report["run"]["output_tail"]
    time.sleep(0.3)
    survivors = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == b"sleep\x00307\x00"]
    assert survivors == []


def test_the_child_has_its_own_tmp(tight, tmp_path):
    marker = tmp_path / "visible-to-the-grader"
    marker.write_text("x")
    source = (f"import os\nprint('sees the grader tmp:', os.path.exists({str(marker)!r}))\n"
              "open('/tmp/mine.txt', 'w').write('ok')\nprint('own tmp works:', open('/tmp/mine.txt').read())\n")
    (tmp_path / "s.py").write_text(source)
    report = grade(tight, tmp_path / "s.py", time_limit=60).to_dict()
    assert "sees the grader tmp: False" in report["run"]["output_tail"]
    assert "own tmp works: ok" in report["run"]["output_tail"]
    assert not os.path.exists("/tmp/mine.txt")


def _cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


def test_planted_modules_and_forged_trace_change_nothing(tight, tmp_path):
    report = run(tight, "planted_modules.py", tmp_path)
    assert "PWNED" not in report["run"]["output_tail"]
    assert report["score"] == 10
    assert report["training"]["fits"][0]["epochs_run"] == 150


def test_memory_limit_stops_the_program_with_a_clear_verdict(tight, tmp_path):
    report = run(tight, "memory_hog.py", tmp_path)
    assert report["run"]["status"] == "memory" and report["run"]["memory_exceeded"] is True
    assert by_name(report)["within_limits"]["message"] == \
        "Your program was stopped before training began: it asked for more memory than the limit of 1536 MiB."
    assert by_name(report)["predicts_31_at_10"]["message"] == \
        "Your program was stopped: it asked for more memory than the limit of 1536 MiB."


def test_a_flood_of_processes_is_refused(tight, tmp_path):
    report = run(tight, "process_flood.py", tmp_path)
    out = report["run"]["output_tail"]
    assert "refused after" in out and "started 300" not in out
    assert report["score"] == 0


def test_a_file_larger_than_the_limit_cannot_be_written(tight, tmp_path):
    report = run(tight, "big_file.py", tmp_path)
    assert "refused 27" in report["run"]["output_tail"]  # EFBIG


def test_a_segfault_is_a_crash(tight, tmp_path):
    report = run(tight, "segfault.py", tmp_path)
    assert report["run"]["status"] == "crashed" and report["run"]["signal"] == 11
    assert by_name(report)["trained_with_fit"]["message"] == \
        "Your program ended abruptly (signal 11) before the grader could save the model."


def test_leaving_before_training_means_no_model(tight, tmp_path):
    report = run(tight, "exit_early.py", tmp_path)
    assert report["run"]["status"] == "crashed"
    assert by_name(report)["trained_with_fit"]["message"] == \
        "Your program ended abruptly (exit code 0) before the grader could save the model."


def test_a_lambda_layer_is_never_executed_by_the_grader(tight, tmp_path):
    report = run(tight, "lambda_layer.py", tmp_path)
    msg = by_name(report)["predicts_31_at_10"]["message"]
    assert msg.startswith("The model cannot be graded safely: model > sequential contains a Lambda layer")
    assert {c["name"]: c["status"] for c in report["checks"]} == {
        "predicts_31_at_10": "failed", "trained_with_fit": "failed", "within_limits": "passed",
        "learned_the_line": "failed"}


def test_filling_the_disk_stops_the_program(tight, tmp_path):
    report = run(tight, "disk_filler.py", tmp_path)
    assert report["run"]["status"] == "disk" and report["run"]["disk_exceeded"] is True
    assert "wrote everything" not in report["run"]["output_tail"]
    assert by_name(report)["within_limits"]["message"] == \
        "Your program was stopped: its files took more than the disk limit of 200 MiB."


def test_links_and_special_files_where_artifacts_are_read_are_refused(tmp_path):
    from grader.trace import read_trace, regular_file

    real = tmp_path / "real.json"
    real.write_text('{"status": "ok"}')
    (tmp_path / "link.json").symlink_to(real)
    os.link(real, tmp_path / "hard.json")
    os.mkfifo(tmp_path / "fifo.json")
    assert read_trace(tmp_path / "link.json") == {} and read_trace(tmp_path / "fifo.json") == {}
    assert regular_file(tmp_path / "hard.json", 10**6) is False
    (tmp_path / "hard.json").unlink()
    assert read_trace(real) == {"status": "ok", "fits": [], "legacy": [], "data_access": [], "cell_errors": []}


def test_a_submitted_link_is_never_followed_to_what_it_points_at(tmp_path):
    """A link to the reference solution graded 10/10 (locally, in a batch, in a Gradescope upload), and one
    to a file only root may read had its first line shown as a syntax error."""
    from grader.batch import discover
    from grader.gradescope import pick_submission

    secret = tmp_path / "secret.txt"
    secret.write_text("db_password = hunter2\n")
    target = EXERCISES / "hello_world" / "solution.py"
    (tmp_path / "mine.py").symlink_to(target)
    (tmp_path / "leak.py").symlink_to(secret)
    result = run_cli("grade", "hello_world", tmp_path / "leak.py")
    assert result.exit_code == 2 and "hunter2" not in result.output
    assert f"{tmp_path / 'leak.py'} is a symbolic link, not a file: submit the .py or .ipynb file itself." in result.output
    # a class: a linked file or folder is a student with a problem, never graded
    subs = tmp_path / "subs"
    (subs / "bob").mkdir(parents=True)
    (subs / "alice.py").symlink_to(target)
    (subs / "bob" / "week1.py").symlink_to(target)
    (subs / "carol").symlink_to(EXERCISES / "hello_world")
    found = {s.id: (s.path, s.problem) for s in discover(subs)}
    assert found["alice"] == (None, "alice.py is a symbolic link: the grader reads only the files students submitted")
    assert found["carol"] == (None, "carol is a symbolic link: the grader reads only the files students submitted")
    assert found["bob"][0] is None and "holds no .py or .ipynb file" in found["bob"][1]
    # a Gradescope upload: the link is not a submitted file
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "answer.py").symlink_to(target)
    assert pick_submission(upload, "hello_world")[0] is None

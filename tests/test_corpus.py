"""The corpus under tests/submissions/<exercise>/: code written the way students write it, each file
naming its expected score in a first-lines comment ``# expect-score: N`` (and, optionally, the verdict on its
training, ``# expect-training: verified``)."""

import json
import re

import pytest

from conftest import SUBMISSIONS, run_cli

# adversarial/ and mistakes/ are graded by tests of their own (test_security, test_truthful_reports)
CORPUS = sorted(p for folder in SUBMISSIONS.iterdir() if folder.name not in ("adversarial", "mistakes") and folder.is_dir()
                for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))


def expected_score(path):
    m = re.search(r"# expect-score: ([\d.]+)", path.read_text())
    assert m, f"{path} names no expected score"
    return float(m.group(1))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_submission_gets_its_expected_score(path, standin, tmp_path):
    out = tmp_path / "r.json"
    result = run_cli("grade", path.parent.name, path, "--data-dir", standin, "--json", out)
    report = json.loads(out.read_text())
    assert report["score"] == expected_score(path), (report["run"], [c["message"] for c in report["checks"]])
    assert result.exit_code == (0 if report["score"] == report["max_score"] else 1)
    assert report["run"]["status"] == "ok", report["run"]["error"]
    # honest code is never accused of forging its training; a file may name the verdict it gets
    verification = report["environment"]["training_verification"]
    assert verification["status"] != "refuted", verification
    named = re.search(r"# expect-training: (\w+)", path.read_text())
    if named:
        assert verification["status"] == named.group(1), verification


def test_old_idioms_are_each_named_with_their_line(standin, tmp_path):
    out = tmp_path / "r.json"
    run_cli("grade", "hello_world", SUBMISSIONS / "hello_world" / "old_tf_script.py", "--json", out)
    legacy = json.loads(out.read_text())["legacy"]
    assert [(n["idiom"], n["line"]) for n in legacy] == [
        ("tf.logging", 7),
        ("tf.enable_eager_execution()", 8),
        ("SGD(lr=...)", 11),
        ("model.predict on a Python list", 15),
    ]  # on tf-keras (the script is tf.keras 2 code), where input_shape= is the API itself
    assert legacy[2]["modern"] == "SGD(learning_rate=...)"

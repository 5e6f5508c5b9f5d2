"""What the child hands back (model file, trace, progress lines, notebook, output) is hostile data: each
artifact here gets a verdict, never a grader crash; all bounded so the suite stays safe."""

import json
import os
import stat
import subprocess
import sys
import threading
import zipfile
from xml.etree import ElementTree as ET

import pytest

from conftest import SUBMISSIONS, hello_world_with, run_cli
from grader import events as events_module
from grader import trace as trace_module
from grader.chart import training_charts
from grader.modelcheck import UnsafeModel, load_model_safely
from grader.safetext import for_terminal, for_xml
from grader.submission import SubmissionError, notebook_to_source
from test_evaluate import saved


@pytest.fixture(scope="module")
def course_model(tmp_path_factory):
    return saved(tmp_path_factory.mktemp("model"), "course")


def forge(src, dest, change=None, config_bytes=None):
    """A copy of the saved model ``src`` with its config changed by ``change(config)`` or replaced."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        config = json.loads(z.read("config.json"))
        if change:
            change(config)
        out.writestr("config.json", config_bytes if config_bytes is not None else json.dumps(config))
        for name in ("metadata.json", "model.weights.h5"):
            out.writestr(name, z.read(name))
    return dest


LAMBDA_SPELLINGS = [
    ("keras", "layers.Lambda"),
    (None, "Lambda"),
    ("keras.layers", "Lambda"),
    ("keras.src.layers.core.lambda_layer", "Lambda"),
    ("keras.layers", "TFOpLambda"),
    ("keras", "lambda"),
    ("keras.layers", "__lambda__"),
]


@pytest.mark.parametrize("module,cls", LAMBDA_SPELLINGS)
def test_a_lambda_is_refused_in_every_spelling(course_model, tmp_path, module, cls):
    def change(config):
        layer = config["config"]["layers"][1]
        layer["class_name"] = cls
        if module is None:
            layer.pop("module", None)
        else:
            layer["module"] = module

    with pytest.raises(UnsafeModel, match=f"contains a {cls} layer, which runs arbitrary Python code"):
        load_model_safely(forge(course_model, tmp_path / "m.keras", change), tmp_path)


def test_a_class_must_exist_exactly_in_the_keras_module_it_names(course_model, tmp_path):
    def change(config):
        config["config"]["layers"][1]["module"] = "keras.layers"
        config["config"]["layers"][1]["class_name"] = "Sequential.from_config"

    with pytest.raises(UnsafeModel, match="uses 'Sequential.from_config', which is not a class of Keras' module "
                                          "'keras.layers'"):
        load_model_safely(forge(course_model, tmp_path / "m.keras", change), tmp_path)


def test_a_config_bomb_is_refused_from_the_zip_directory(course_model, tmp_path):
    bomb = b"{" + b" " * (64 * 2**20) + b"}"  # 64 MiB that deflate to about 64 KiB
    with pytest.raises(ValueError, match="the saved model's config.json is too large \\(64 MiB\\)"):
        load_model_safely(forge(course_model, tmp_path / "m.keras", config_bytes=bomb), tmp_path)


def test_a_deeply_nested_config_is_malformed(course_model, tmp_path):
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(ValueError, match="the saved model's config.json is nested too deeply"):
        load_model_safely(forge(course_model, tmp_path / "m.keras", config_bytes=deep), tmp_path)


def test_a_trace_of_millions_of_empty_lists_is_refused_before_parsing(tmp_path):
    """20 MiB of nested empty lists parse into gigabytes: the trace is refused by counting first."""
    path = tmp_path / "trace.json"
    lists = ",".join(["[[[]]]"] * (trace_module.MAX_CONTAINERS // 3 + 1))
    path.write_text('{"status": "ok", "fits": [], "junk": [' + lists + "]}")
    assert trace_module.read_trace(path) == {}
    path.write_text('{"status": "ok", "fits": [], "junk": [' + ",".join(["[[[]]]"] * 1000) + "]}")
    assert trace_module.read_trace(path)["status"] == "ok"


def test_a_trace_nested_too_deeply_is_no_trace(tmp_path):
    path = tmp_path / "trace.json"
    path.write_text('{"fits": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert trace_module.read_trace(path) == {}


def test_a_trace_of_wrong_types_and_absurd_numbers_is_cleaned_and_charted(tmp_path):
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({
        "status": ["ok"], "legacy": "x", "model": {"found": True},
        "fits": [{"index": 0, "epochs_run": 10**12, "history": {"loss": [1e308, -1e308, 2.0, "x", None]},
                  "stopped_by": "me"}, {"index": "1"}, 7],
    }).replace("2.0", "NaN"))
    trace = trace_module.read_trace(path)
    assert trace == {"model": {"found": True}, "legacy": [], "data_access": [], "cell_errors": [],
                     "fits": [{"index": 0, "epochs_run": trace_module.MAX_EPOCHS, "epochs_requested": trace_module.MAX_EPOCHS,
                               "history": {"loss": [1e308, -1e308, None, None, None]}}]}
    fits = [dict(trace["fits"][0], epochs_run=5)]
    assert training_charts(fits) == []  # no drawable value: nothing to draw, and no crash
    charts = training_charts([{"index": 0, "epochs_run": 3, "history": {"loss": [1e308, 2.0, 1.0]}}])
    assert [c["title"] for c in charts] == ["Loss per epoch"]
    assert [len(line["segments"]) for line in charts[0]["lines"]] == [1]  # 2.0 -> 1.0, the huge value left out


def test_a_progress_line_past_the_cap_is_dropped_and_the_next_event_arrives():
    read, write = os.pipe()
    events = []
    relay = threading.Thread(target=events_module.relay_events,
                             args=(read, events.append, events_module.Commitments(0.0), 0.0, 10.0))
    relay.start()
    with os.fdopen(write, "wb") as w:
        w.write(b'{"phase": "' + b"x" * (4 * events_module.MAX_EVENT_BYTES) + b'"}\n')
        w.write(b'{"phase": "saving the model"}\n')
    relay.join(timeout=10)
    assert [e["phase"] for e in events] == ["saving the model"]


def test_commitments_of_the_wrong_shape_are_dropped_and_the_rest_kept_typed():
    """The child writes the event pipe: a commitment is kept only with its fields of the types read."""
    read, write = os.pipe()
    ledger = events_module.Commitments(0.0)
    relay = threading.Thread(target=events_module.relay_events, args=(read, None, ledger, 0.0, 10.0))
    relay.start()
    with os.fdopen(write, "wb") as w:
        for event in ({"commit": "end", "fit_index": "0", "at_epoch": 0}, {"commit": "forged", "fit_index": 0,
                                                                          "at_epoch": 0},
                      {"commit": "end", "fit_index": 0, "at_epoch": 1, "steps": True, "weights": "w" * 500,
                       "logs": {"loss": 0.5, "evil": {"nested": 1}, "acc": "x"}, "extra": 1}):
            w.write(json.dumps(event).encode() + b"\n")
    relay.join(timeout=10)
    items = ledger.received()["items"]
    assert len(items) == 1 and items[0].pop("received_s") >= 0
    assert items[0] == {"commit": "end", "fit_index": 0, "at_epoch": 1, "weights": "w" * 64, "logs": {"loss": 0.5}}


def test_a_status_line_the_program_forges_is_shown_escaped_on_the_operators_terminal(capsys, monkeypatch):
    """The live status line prints what the child's events say: a phase holding escape codes cleared the
    screen, showed a fake verdict and hid the real one."""
    import click.utils

    from grader.terminal import LiveProgress

    monkeypatch.setattr(click.utils, "should_strip_ansi", lambda *a, **k: False)  # as on a terminal

    show = LiveProgress()
    show({"phase": "\x1b[2J\x1b[HHello: 10/10 points\x1b]0;owned\x07\x1b[8m", "time_left_s": 5})
    show({"epoch": 1, "epochs": 2, "logs": {"loss": "x\x1b[8m", "accuracy": 0.5}, "time_left_s": 4})
    err = capsys.readouterr().err
    assert err.count("\x1b") == 2  # only the grader's own two "\r\x1b[K" line clears
    assert "\\x1b[2J\\x1b[HHello: 10/10 points\\x1b]0;owned\\x07\\x1b[8m..." in err
    assert "training: epoch 1/2  accuracy 0.5  (4 s left)" in err


@pytest.mark.parametrize("cells,reason", [
    ([{"cell_type": "code", "metadata": [], "source": "print(1)"}], None),
    ([{"cell_type": "code", "metadata": {}, "source": [1, 2, 3]}], "the source of cell 1 is not text"),
])
def test_notebooks_with_fields_of_the_wrong_type(cells, reason):
    raw = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
    if reason is None:
        assert notebook_to_source(raw, "nb.ipynb").text == "print(1)\n"
    else:
        with pytest.raises(SubmissionError, match=reason):
            notebook_to_source(raw, "nb.ipynb")


def test_a_notebook_nested_200000_levels_is_exit_2(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    result = run_cli("grade", "hello_world", path)
    assert result.exit_code == 2
    assert "deep.ipynb is not a valid notebook: its JSON is nested too deeply." in result.output


def test_escape_sequences_never_reach_the_terminal_and_junit_stays_xml(tmp_path):
    (tmp_path / "s.py").write_text(
        "raise RuntimeError('\\x1b]0;owned\\x07\\x1b[2K\\r\\x1b[32m10/10 points\\x1b[0m \\x00\\x0c')\n")
    result = run_cli("grade", "hello_world", tmp_path / "s.py", "--junit", tmp_path / "j.xml")
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output and "\x00" not in result.output
    # colour codes (Keras bolds its messages) are dropped, the words kept; any other code is shown, escaped
    assert "  | RuntimeError: \\x1b]0;owned\\x07\\x1b[2K\n  | 10/10 points \\x00\n" in result.output
    ET.parse(tmp_path / "j.xml")  # valid XML


def test_the_text_filters():
    assert for_terminal("a\x1b[31mb\tc\nd\x9b") == "a\\x1b[31mb\tc\nd\\x9b"
    assert for_xml("ok\x00\x0b\ttab\ufffe") == "ok\\x00\\x0b\ttab\\xfffe"


@pytest.mark.parametrize("steps,units,memory_mib,verdict", [
    (400_000, 256, 6144, "The model could not be evaluated within 5 s."),
    (400_000_000, 1, 1024, "The model could not be evaluated within 1024 MiB of memory."),
])
def test_a_model_too_slow_or_too_big_to_evaluate_is_the_students_verdict(tmp_path, steps, units, memory_mib, verdict):
    import time

    from grader.grading import grade

    exercise = hello_world_with(tmp_path / "hello_strict", evaluation_time=5, evaluation_memory_mib=memory_mib)

    source = (SUBMISSIONS / "adversarial" / "slow_model.py").read_text()
    (tmp_path / "s.py").write_text(source.replace("STEPS", str(steps)).replace("UNITS", str(units)))
    started = time.time()
    report = grade(exercise, tmp_path / "s.py", time_limit=60).to_dict()
    messages = {c["name"]: c["message"] for c in report["checks"]}
    assert messages["predicts_31_at_10"] == verdict
    assert messages["learned_the_line"] == verdict  # the evaluator is not asked twice
    assert report["limits"]["evaluation_time_limit_s"] == 5 and report["limits"]["evaluation_time_s"] <= 6
    assert time.time() - started < 60 + 30


def test_an_evaluator_that_cannot_start_is_the_graders_error_not_the_students_verdict(tmp_path, monkeypatch):
    from grader import evaluator

    monkeypatch.setattr(evaluator, "WORKER_FILES", ("__init__.py",))  # the worker's module is not there
    out = tmp_path / "r.json"
    result = run_cli("grade", "hello_world", SUBMISSIONS.parent.parent / "exercises" / "hello_world" / "solution.py",
                     "--json", out)
    report = json.loads(out.read_text())
    assert result.exit_code == 3
    assert {c["name"]: c["status"] for c in report["checks"]} == {
        "predicts_31_at_10": "error", "trained_with_fit": "error", "within_limits": "passed", "learned_the_line": "error"}
    assert "the grader's evaluator process could not start" in report["checks"][0]["message"]


def test_nested_values_of_a_forged_trace_are_dropped_when_of_the_wrong_type():
    """The child writes the trace and the student's code runs in the child: a batch maximum of "255"
    (a string) once made the grader's comparison raise (exit 3); now the value is simply not there."""
    from grader.trace import clean_trace

    fit = clean_trace({"fits": [{
        "index": 0, "epochs_run": 1,
        "data": {"kind": "ImageDataGenerator", "rescale": "1/255", "batch": {"max": "255", "shape": [32, "28"]},
                 "random_transforms": {"rotation_range": "40", "horizontal_flip": True, "zoom_range": [0.8, "x"]},
                 "fingerprint": ["ab12", 7], "samples": 3.5},
        "validation": ["not", "a", "dict"],
        "compile": {"loss": "mse", "from_logits": "yes", "learning_rate": "0.1"},
        "output": {"units": "26", "activation": "softmax"}}]})["fits"][0]
    assert fit["data"] == {"kind": "ImageDataGenerator", "batch": {"shape": [32, None]},
                           "random_transforms": {"horizontal_flip": True}, "fingerprint": ["ab12"]}
    assert "validation" not in fit
    assert fit["compile"] == {"loss": "mse"} and fit["output"] == {"activation": "softmax"}


def test_a_trace_claiming_huge_epoch_counts_costs_the_charts_nothing():
    """2,500 fits each claiming 100,000 epochs (a 0.3 MB trace) once made the chart code pad every
    history to its claimed length: the grader ran for minutes and grew without bound."""
    from grader.chart import MAX_POINTS, training_charts

    fits = [{"index": i, "epochs_run": 100_000, "history": {"loss": [1.0, 0.5], "accuracy": [0.5, 0.6]},
             "stopped_by": None} for i in range(2500)]
    charts = training_charts(fits)
    assert [c["title"] for c in charts] == ["Loss per epoch", "Accuracy per epoch"]
    assert all(len(line["name"]) and sum(seg.count(" ") + 1 for seg in line["segments"]) <= MAX_POINTS
               for c in charts for line in c["lines"])


def test_a_trace_of_a_hundred_thousand_fits_keeps_a_bounded_number_each_charting_only_what_it_draws():
    """100,000 forged fits, each with a metric of its own name (a 6 MB trace), once kept the HTML renderer
    busy for more than 20 minutes: every fit padded every other fit's series."""
    from grader.chart import CHARTED, MAX_MARKERS, training_charts
    from grader.trace import MAX_FITS, clean_trace

    trace = clean_trace({"fits": [{"index": i, "epochs_run": 1, "history": {f"k{i}": [1.0], "loss": [1.0 + i % 7]},
                                   "stopped_by": {"class": "EarlyStopping"}} for i in range(100_000)]})
    assert len(trace["fits"]) == MAX_FITS
    charts = training_charts(trace["fits"])
    assert [c["title"] for c in charts] == ["Loss per epoch"] and set(CHARTED) >= {"loss"}
    assert [line["name"] for line in charts[0]["lines"]] == ["loss"]
    assert len(charts[0]["markers"]) <= MAX_MARKERS


def test_odd_types_in_the_traces_own_records_are_dropped_not_a_grader_error():
    """determinism {"caveats": 5} made the grader itself fail (exit 3, no report); model.fit_calls [[1]]
    turned a check and nine diagnoses into grader errors."""
    from grader.grading import determinism_statement
    from grader.trace import clean_trace

    trace = clean_trace({"determinism": {"seed": 1, "caveats": 5, "student_seeds": [1, {"call": "np.random.seed"},
                                                                                  {"call": "random.seed", "value": "3"}]},
                         "model": {"found": True, "fit_calls": [[1], 0, True], "fitted": "yes"},
                         "versions": {"keras": ["3"], "runtime": "keras3"}, "error": {"line": "9", "type": "X"},
                         "legacy": [{"idiom": 5, "modern": "m", "line": "7"}]})
    assert trace["determinism"] == {"seed": 1, "caveats": [], "student_seeds": [{"call": "random.seed", "value": "3"}]}
    assert trace["model"] == {"found": True, "fit_calls": [0]}
    assert trace["versions"] == {"runtime": "keras3"} and trace["error"] == {"type": "X"}
    assert trace["legacy"] == []  # an idiom that is not text names nothing
    assert determinism_statement(trace["determinism"], 1)["caveats"] == [
        "your program sets its own seed (random.seed(3) at line ?), which replaces the grader's from that point"]


def _model_and_victim(tmp_path):
    """A saved one-neuron model (compiled: a replay trains it), and a file of the grader's user that no link
    planted by the evaluator's user may reach (its text and its mode are checked after)."""
    model = tmp_path / "m.keras"
    subprocess.run([sys.executable, "-c", "import keras; m = keras.Sequential([keras.Input((1,)), "
                    f"keras.layers.Dense(1)]); m.compile('sgd', 'mse'); m.save({str(model)!r})"],
                   check=True, capture_output=True)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.chmod(victim, 0o600)
    return model, victim


def test_links_planted_in_the_evaluators_folder_are_never_followed_by_the_grader(tmp_path):
    """The evaluator's user owns its folder: a link at any name the grader writes there (x.npy, the model's
    copy) or reads back (out.npy) must not turn the grader's write, chmod or read into one elsewhere."""
    import numpy as np

    from grader import evaluator as evaluators

    model, victim = _model_and_victim(tmp_path)
    e = evaluators.acquire(evaluators.EvalLimits(60, 2048))
    try:
        for name in ("x.npy", "out.npy", "model-1.keras", "model-2.keras"):
            (e.folder / name).symlink_to(victim)
        loaded = e.load(model)
        assert list(loaded.input_shape) == [1]
        try:
            out = loaded.infer(np.array([[10.0]], dtype="float32"))
            assert out.shape == (1, 1)
        except evaluators.InferenceError:
            pass  # whatever the link did inside the sandbox, the grader read nothing through it
    finally:
        evaluators.release(e)
    assert victim.read_text() == "keep"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600


def test_a_replays_files_are_linked_in_memory_and_links_planted_there_are_never_followed(tmp_path):
    """What a replay reads is handed to the evaluator as a second name of the run's file where both are in memory
    (no copy), else copied; a link the evaluator's user planted at a name the grader hands a file over at changes
    nothing outside its folder."""
    import shutil
    import tempfile
    from pathlib import Path

    import numpy as np

    from grader import evaluator as evaluators
    from grader.harness.commit import weights_digest

    run = Path(tempfile.mkdtemp(prefix="grader-test-", dir="/dev/shm"))
    try:
        state = run / "fit0-epoch0.npz"
        np.savez(state, a0=np.ones((1, 1), dtype="float32"), a1=np.zeros(1, dtype="float32"))
        os.chmod(state, 0o600)  # (as the program left it: the evaluator's user must still read it)
        on_disk = tmp_path / "fit0-data.npz"
        np.savez(on_disk, x=np.zeros((2, 1), dtype="float32"), y=np.zeros(2, dtype="float32"))
        hand = run / "hand"
        hand.mkdir()
        with evaluators._open_regular(state) as src:
            assert evaluators._linked(src, state, hand / "replay-start-0.npz")
        assert os.stat(hand / "replay-start-0.npz").st_ino == os.stat(state).st_ino
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o644
        with evaluators._open_regular(on_disk) as src:  # (another filesystem: copied instead)
            assert not evaluators._linked(src, on_disk, hand / "replay-data.npz")
        assert not (hand / "replay-data.npz").exists()
        os.unlink(hand / "replay-start-0.npz")

        model, victim = _model_and_victim(tmp_path)
        e = evaluators.acquire(evaluators.EvalLimits(60, 2048))
        try:
            assert e.handover.parent == Path("/dev/shm")
            for name in ("replay-model.keras", "replay-data.npz", "replay-survey-0.npz"):
                (e.handover / name).symlink_to(victim)
            reply = e.replay(model, on_disk, [], {"batch_size": 2, "shuffle": False, "order_seed": 1}, 30.0,
                             survey=[state])
            assert reply["ok"] and [s["weights"] for s in reply["survey"]] == [  # (read through its second name)
                weights_digest(None, [np.ones((1, 1)), np.zeros(1)])]
            assert sorted(p.name for p in e.handover.iterdir()) == []  # (each handed file gone after the request)
        finally:
            evaluators.release(e)
        assert victim.read_text() == "keep" and stat.S_IMODE(os.stat(victim).st_mode) == 0o600
        assert os.stat(state).st_nlink == 1 and dict(np.load(state))["a0"].tolist() == [[1.0]]
    finally:
        shutil.rmtree(run, ignore_errors=True)


def test_the_graders_own_time_after_the_program_ends_is_bounded_and_still_reported(tmp_path):
    """An instructor's check that never returns (or any work the trusted side cannot finish) ends at the
    exercise's grading_time: exit 3, every requested report written, each check an error naming the limit."""
    import shutil
    import time

    from conftest import ROOT

    course = tmp_path / "course"
    shutil.copytree(ROOT / "examples" / "course", course)
    plugin = course / "plugin.py"
    plugin.write_text(plugin.read_text().replace("    n = evidence.model().count_params()",
                                                 "    while True:\n        pass\n    n = 0"))
    spec = course / "house_prices" / "spec.toml"
    spec.write_text(spec.read_text().replace("max_epochs = 1000", "max_epochs = 1000\ngrading_time = 4"))
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "grader", "--exercises", str(course), "grade", "house_prices",
                           str(course / "house_prices" / "solution.py"), "--json", str(tmp_path / "r.json"),
                           "--junit", str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html")],
                          capture_output=True, text=True, timeout=150, cwd=tmp_path)
    sentence = ("Not graded: the grader itself took more than 4 s to grade your trained model after your program "
                "ended (its own limit, limits.grading_time), so it stopped.")
    assert proc.returncode == 3, proc.stderr
    assert sentence in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(c["status"], c["score"]) for c in report["checks"]] == [("error", 0.0)] * 4  # the hidden check too
    assert report["checks"][0]["message"].startswith(sentence)
    assert ET.parse(tmp_path / "r.xml").getroot().find("testsuite").get("errors") == "4"
    assert sentence in (tmp_path / "r.html").read_text()
    assert time.time() - started < 120

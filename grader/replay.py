"""Replays one epoch of a student's training (runs in the evaluator process, never in the grader's).

The graded model's file gives the architecture (checked as ``grader.modelcheck`` checks it) and the
compile settings (loss and optimizer, checked the same way: Keras' own classes and functions only);
the state the epoch started from, every variable of the model and of its optimizer, is one the child
saved; the batches are ``grader.batchorder``'s for that epoch of arrays, or those the child recorded, rebuilt
by ``grader.replay_batches``. The state the replay ends in is digested
as the child digested its own, so the trusted side can compare the two. Imports only the standard
library, NumPy, TensorFlow and Keras.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np

from grader import batchorder, modelcheck, picture_rows
from grader.fresh_start import fresh_problem
from grader.replay_batches import (FilePictures, Unreplayable, arrays_in, batch_sizes, image_batches,
                                    image_generator, recorded_batches, rows_from_pictures)

# What of a compile config the replay rebuilds: what changes the weights, and the metrics the logs report
COMPILE_KEYS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "jit_compile",
                "steps_per_execution", "run_eagerly")
FUNCTION_MODULES = ("keras.losses", "keras.activations", "keras.metrics", "keras.src.losses.losses",
                    "keras.src.metrics")


def _functions_by_name(node):
    """A Keras loss passed as a function (``tf.keras.losses.mse``) is saved as {"class_name": "function",
    "module": "keras.losses", "config": NAME}: its name, when Keras' module has that function."""
    import importlib

    if isinstance(node, list):
        return [_functions_by_name(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("class_name") == "function" and node.get("module") in FUNCTION_MODULES:
        name = node.get("config")
        module = importlib.import_module(node["module"])
        if isinstance(name, str) and name.isidentifier() and callable(getattr(module, name, None)):
            return name
        raise modelcheck.UnsafeModel(f"the function '{name}' is not one of {node['module']}")
    return {k: _functions_by_name(v) for k, v in node.items()}


def _by_name(node, module, also=()):
    """A metric (or, on tf-keras, a loss) passed as a function is saved as {"module": "builtins",
    "class_name": "function", "config": NAME}, whoever wrote it: Keras' own function of that name (in
    ``module``, or one of ``also``) stands for it (its values are the ones the logs must report; a function of
    the program's own under a Keras name does not report them)."""
    if isinstance(node, dict) and node.get("module") == "builtins" and node.get("class_name") == "function":
        name = node.get("config")
        if isinstance(name, str) and name.isidentifier() and (name in also or callable(getattr(module, name, None))):
            return name
    return node


def compile_settings(path: Path, committed: dict | None, keras, package: str = "keras") -> dict:
    """The loss, optimizer and metrics the model was trained with: those the child committed at fit time
    (a program may compile again after training), else those of the model's file; Keras' own objects
    and functions only (``keras``: the runtime's, ``package`` its name)."""
    settings = committed
    if not isinstance(settings, dict):
        with zipfile.ZipFile(path) as z:
            config = modelcheck.parse_json(
                modelcheck._read_bounded(z, modelcheck._member(z, "config.json", modelcheck.MAX_CONFIG_BYTES)),
                "the saved model's config.json")
        settings = config.get("compile_config") if isinstance(config, dict) else None
    if not isinstance(settings, dict) or settings.get("optimizer") is None or settings.get("loss") is None:
        raise Unreplayable("the program's model holds no loss and optimizer to train it with")
    settings = {k: settings[k] for k in COMPILE_KEYS if k in settings}
    optimizer = settings.get("optimizer")
    if isinstance(optimizer, dict) and str(optimizer.get("module", "")).startswith("keras.optimizers.legacy"):
        raise Unreplayable("the program trained with a legacy optimizer (keras.optimizers.legacy), whose training the "
                           "grader does not replay")
    for key in ("metrics", "weighted_metrics"):
        if isinstance(settings.get(key), list):
            settings[key] = [_by_name(m, keras.metrics, ("accuracy", "acc")) for m in settings[key]]
    settings["loss"] = _by_name(settings["loss"], keras.losses)
    try:
        clean = modelcheck._sanitise(_functions_by_name(settings), "the model's compile settings", package)
    except modelcheck.UnsafeModel as exc:
        raise Unreplayable(f"the program trained with a loss, optimizer or metric of its own ({exc})") from None
    optimizer = clean.get("optimizer")
    if isinstance(optimizer, dict) and (optimizer.get("config") or {}).get("use_ema"):
        raise Unreplayable("the optimizer's use_ema replaces the weights with their moving average when training "
                           "ends, which the grader does not replay")
    return clean


def _digests(values) -> str:
    return modelcheck.combined([modelcheck.digest(v) for v in values])


_COMPILED: dict = {}  # the last model compiled for a replay: (its file's digest, settings, runtime) -> it


def _compiled(path: Path, settings: dict, workdir: Path, runtime: str, keras) -> tuple:
    """The graded model, compiled with ``settings`` and its optimizer built, and every variable of both: the
    one the last request compiled when it came from the same file with the same settings (the survey of
    saved states, then the replay, of one grading; everything a replay uses is assigned from a saved state
    first), else loaded anew."""
    import hashlib
    import json

    found = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            found.update(chunk)
    key = (found.hexdigest(), json.dumps(settings, sort_keys=True, default=str), runtime)
    if key not in _COMPILED:
        _COMPILED.clear()
        model = modelcheck.load_model_safely(path, workdir, runtime)
        model.compile(**_deserialised(settings, keras))
        model.optimizer.build(model.trainable_variables)
        _COMPILED[key] = model, list(model.variables) + _optimizer_variables(model), _layout(model)
    return _COMPILED[key]


def _layout(model) -> dict:
    """The optimizer as built for the replay, before any state is assigned: its variables' names, which of
    them are its learning rate (none on tf-keras; a LossScaleOptimizer's and its inner optimizer's), and
    each one's digest as a new
    optimizer holds it (the trusted side holds training's start against these: grader/optimizer_state.py)."""
    variables = _optimizer_variables(model)
    optimizer = model.optimizer
    rates = [getattr(o, "_learning_rate", None) for o in (optimizer, getattr(optimizer, "inner_optimizer", None))]
    return {"names": [str(getattr(v, "path", None) or getattr(v, "name", ""))[:200] for v in variables],
            "learning_rates": [i for i, v in enumerate(variables) if any(v is r for r in rates if r is not None)],
            "fresh": [modelcheck.digest(np.asarray(v)) for v in variables]}


def replay(request: dict, workdir: Path, runtime: str = "keras3") -> dict:
    """Epochs of one fit replayed, each from the state the child saved at its start; returns, for each,
    the digests of the state it started from (as loaded) and of the state it ended in."""
    started = time.monotonic()
    from grader.tfimport import import_keras_quietly

    tf, keras = import_keras_quietly(runtime)
    path = Path(request["model"])
    settings = compile_settings(path, request.get("compile"), keras, "tf_keras" if runtime == "keras2" else "keras")
    model, variables, layout = _compiled(path, settings, workdir, runtime, keras)
    data = arrays_in(Path(request["data"]))
    images = image_generator(request, data, runtime) if request.get("kind") == "images" else None
    if images is not None and request.get("files") is not None:  # a folder's pictures, as their files' bytes
        data = dict(data, x=FilePictures(data, request["files"], runtime))
    class_weight = request.get("class_weight")
    class_weight = {int(k): float(v) for k, v in class_weight.items()} if class_weight else None
    if request.get("survey"):
        return {"survey": _survey(model, [Path(p) for p in request["survey"]]), "epochs": [], "optimizer": layout,
                "seconds": round(time.monotonic() - started, 3)}
    if str(data.get("x_code", "")) == picture_rows.PICTURES:  # rows known by their hashes: read from the pictures
        data = dict(data, x=rows_from_pictures(tf, keras, data, request.get("pictures"), workdir),
                    x_code=np.asarray("raw"))
    fresh = None
    if request.get("initial"):  # where training started from, held against a fresh initialisation
        state = arrays_in(Path(request["initial"]["start"]))  # (another fit's: its optimizer may differ)
        _assign(list(model.variables), {f"a{i}": state.get(f"a{i}") for i in range(len(model.variables))})
        count = len(model.variables)
        fresh = {"start_weights": _digests(model.get_weights()),
                 "start_optimizer": _digests([state[f"a{i}"] for i in range(count, len(state)) if f"a{i}" in state]),
                 "problem": fresh_problem(model, keras) if request["initial"].get("fresh", True) else None}
    results = []
    for k, item in enumerate(request["epochs"]):
        if not (item.get("continue") and k):  # (a part that continues runs on from the state the one before reached)
            if not item.get("start"):
                raise Unreplayable("a part of training to replay names no saved state to start from")
            _assign(variables, arrays_in(Path(item["start"])))
        elif isinstance(item.get("set_rate"), (int, float)) and not isinstance(item["set_rate"], bool) and \
                np.isfinite(item["set_rate"]):  # (an epoch that continues one a schedule ended: the rate it set)
            model.optimizer.learning_rate.assign(float(item["set_rate"]))
        before = _digests(model.get_weights())
        before_optimizer = _digests(_optimizer_variables(model))
        negative = _negative_squares(model) if not (item.get("continue") and k) else None
        began_at = _rate_now(model)
        epoch, steps = int(item["epoch"]), int(item["steps"])
        first, last = int(item.get("from", 0)), int(item.get("to", steps))  # the steps replayed: first+1..last
        through = int(item.get("through", epoch))  # a run of whole epochs, epoch..through, with nothing between
        if not 0 <= first < last <= steps or through < epoch or \
                (through > epoch and (first, last) != (0, steps) or through - epoch >= MOST_RUN):
            raise Unreplayable(f"steps {first + 1} to {last} of epochs {epoch + 1} to {through + 1} are not a part of "
                               f"training the grader replays (epochs of {steps} steps)")
        rates = arrays_in(Path(item["rates"]))["rates"][first:] if item.get("rates") else \
            _run_rates(item["step_rates"], through - epoch + 1, steps // _per_execution(model)) \
            if item.get("step_rates") else None
        if request.get("kind") in ("images", "recorded"):
            if through > epoch:
                raise Unreplayable("a run of epochs of recorded batches is not replayed")
            log = arrays_in(Path(item["batches"]))
            sizes = batch_sizes(log, data, last)
            batches = image_batches(keras, images, data, log, first, last, request.get("dtype")) \
                if images is not None else recorded_batches(tf, data, log, first, last)
        else:
            size, rows = int(request["batch_size"]), len(data["x"])
            sizes = [min(size, rows - k * size) for k in range(batchorder.steps_per_epoch(rows, size))]
            batches = batchorder.dataset(tf, data["x"], data["y"], int(request["order_seed"]), epoch, through + 1,
                                         size, bool(request["shuffle"]))
            if through == epoch:
                batches = batches.skip(first).take(last - first)
        ends = _epoch_ends(model, keras, first, item.get("checks") or () if through == epoch else ())
        epoch_rates = item.get("epoch_rates") if through > epoch else None
        if epoch_rates is not None and (not isinstance(epoch_rates, list) or len(epoch_rates) != through - epoch + 1):
            raise Unreplayable("the learning rates of a run of epochs do not match its epochs")
        # an epoch that ended when the child's data ran out is read to its end the same way (Keras' last call,
        # which finds no batch, still counts an optimizer step)
        ran_out = log.get("ran_out") if request.get("kind") == "recorded" else None
        runs_out = last == steps and ran_out is not None and ran_out.dtype == np.bool_ and bool(ran_out.all())
        try:
            history = model.fit(batches, epochs=through - epoch + 1,
                                steps_per_epoch=None if runs_out else last - first, verbose=0, shuffle=False,
                                class_weight=class_weight,
                                callbacks=[ends] + ([_rates_callback(model, rates, keras)] if rates is not None else [])
                                + ([_starts_callback(model, epoch_rates, keras, ends)]
                                   if epoch_rates is not None else []))
        except Exception:  # a picture that could not be read again says why (Keras passes it on in words of its own)
            if isinstance(data.get("x"), FilePictures) and data["x"].error is not None:
                raise data["x"].error from None
            raise
        for i, reached in enumerate(ends.reached):
            reached["logs"] = {k: float(v[i]) for k, v in history.history.items() if len(v) > i}
        least = _least_rate(began_at, rates, epoch_rates)
        results.append({"epoch": epoch, "through": through, "from": first, "to": last, "start_weights": before,
                        **({"least_rate": least} if least is not None else {}),
                        **({"negative_state": negative} if negative else {}),
                        "start_optimizer": before_optimizer,
                        **ends.reached[-1], "ends": ends.reached, "inside": ends.inside,
                        **({"starts": ends.begun} if epoch_rates is not None else {}),
                        "rows_before": sum(sizes[:first]), "rows": sum(sizes[first:last])})
    rated = [arrays_in(Path(p))["rates"] for p in request.get("all_rates") or ()]  # every epoch's set at steps
    least = _least_rate(None, np.concatenate([np.asarray(r, dtype=np.float64).ravel() for r in rated]), ()) \
        if rated else None
    return {"epochs": results, "initial": fresh, "optimizer": layout, "seconds": round(time.monotonic() - started, 3),
            **({"least_rate": least} if least is not None else {})}


def _survey(model, paths: list[Path]) -> list[dict]:
    """For each saved state: the digest of its weights, how far (Euclidean distance) they are from the next
    state's (the last's: from the graded model's). The weights are read from each file as they are, in
    get_weights' order, each held to its variable's shape (not assigned to the model: a third of the time)."""
    final = model.get_weights()
    variables = list(model.variables)
    place = {id(v): i for i, v in enumerate(variables)}
    order = [place.get(id(w)) for w in model.weights]
    if None in order:  # (a weight that is not one of the model's variables: read them as the model does)
        order = None
    count = len(variables)
    found, before = [], None
    for path in paths:
        if order is None:
            names = [f"a{i}" for i in range(count)]
            state = arrays_in(path, names)
            _assign(variables, {name: state.get(name) for name in names})
            weights = model.get_weights()
        else:
            state = arrays_in(path, [f"a{i}" for i in set(order)])  # (the model's weights alone)
            weights = [state.get(f"a{i}") for i in order]
            for i, value in zip(order, weights):
                if value is None or tuple(value.shape) != tuple(variables[i].shape):
                    raise Unreplayable(f"the saved state's array {i} does not have the shape of the graded "
                                       f"model's ({tuple(variables[i].shape)})")
        if before is not None:
            found[-1]["distance"] = _distance(before, weights)
        found.append({"weights": _digests(weights)})
        before = weights
    if found:
        found[-1]["distance"] = _distance(before, final)
    return found


def _distance(a: list, b: list) -> float:
    total = 0.0
    for x, y in zip(a, b):
        d = np.subtract(x, y, dtype=np.float32).ravel()  # (single precision: it ranks how far weights moved)
        total += float(np.dot(d, d))
    return float(np.sqrt(total))


MOST_RUN = 10_000  # epochs in one run

def _state_digests(model) -> dict:
    return {"weights": _digests(model.get_weights()), "optimizer": _digests(_optimizer_variables(model))}


def _epoch_ends(model, keras, first: int = 0, checks=()):
    """A callback keeping the digests of the state each replayed epoch ended in (``.reached``), and of the
    state after each step of ``checks`` (counted from the epoch's start; the replay began after step
    ``first``): ``.inside``."""
    wanted = {int(step) for step in checks}

    class EpochEnds(keras.callbacks.Callback):
        reached: list
        inside: list

        def on_epoch_end(self, epoch, logs=None):
            self.reached.append(_state_digests(model))

    class StepsToo(EpochEnds):  # (a callback with batch hooks makes Keras wait for each step: only when asked)
        def on_train_batch_end(self, batch, logs=None):
            if first + batch + 1 in wanted:
                self.inside.append({"step": first + batch + 1, **_state_digests(model)})

    ends = StepsToo() if wanted else EpochEnds()
    ends.reached, ends.inside, ends.begun = [], [], []
    return ends


SQUARES = ("_velocities", "_accumulators", "_accumulated_grads", "_accumulated_delta_vars")  # (both runtimes')


def _negative_squares(model) -> str | None:
    """The first of the optimizer's variables that hold a running sum or mean of squared gradients (RMSprop's
    and Adam's velocities, Adagrad's accumulators: never negative in training) and hold a negative value, by
    name, or None: written by hand, a negative one makes a step as large as the writer likes, along each
    weight's gradient (RMSprop's steps are otherwise at most 1 / sqrt(1 - rho) times the rate)."""
    optimizer = model.optimizer
    for o in (optimizer, getattr(optimizer, "inner_optimizer", None)):
        for v in [v for attr in SQUARES for v in (getattr(o, attr, None) or [])]:
            value = np.asarray(v)
            if value.size and float(np.min(value)) < 0:
                return str(getattr(v, "path", None) or getattr(v, "name", ""))[:200]
    return None


def _optimizer_variables(model) -> list:
    variables = model.optimizer.variables
    return list(variables() if callable(variables) else variables)  # a method on tf-keras's legacy optimizers


def _rate_now(model) -> float | None:
    """The learning rate the model's optimizer holds now (a schedule object's, at its step), or None."""
    try:
        rate = float(np.asarray(model.optimizer.learning_rate))
    except Exception:
        return None
    return rate if np.isfinite(rate) else None


def _least_rate(began_at, rates, epoch_rates) -> float | None:
    """The lowest learning rate a replayed part ran with: the one its saved start holds, those a run's epochs
    started with, those set at steps. (A negative one climbs the loss: the trusted side says so.)"""
    seen = [began_at] if began_at is not None else []
    seen += [float(r) for r in epoch_rates or () if isinstance(r, (int, float)) and not isinstance(r, bool)]
    if rates is not None:
        seen += [float(r) for r in np.asarray(rates, dtype=np.float64)]
    seen = [r for r in seen if np.isfinite(r)]
    return min(seen) if seen else None


def _per_execution(model) -> int:
    """The steps the model runs per execution (Keras 3 keeps a number, tf-keras a variable): a callback's
    batch hooks run once per execution, and the rates the child kept are one per execution."""
    try:
        return max(1, int(np.asarray(getattr(model, "steps_per_execution", 1) or 1)))
    except (TypeError, ValueError):
        return 1


def _run_rates(files: dict, epochs: int, steps: int) -> np.ndarray:
    """The rate of each execution of a run of ``epochs`` epochs of ``steps`` executions, where a callback set
    it step by step in some (``files``: the epoch, counted from the run's first, -> its executions' rates); NaN
    (left as it is) elsewhere."""
    out = np.full(epochs * steps, np.nan)
    for offset, path in files.items():
        k = int(offset)
        if not 0 <= k < epochs:
            raise Unreplayable("the learning rates of a run of epochs do not match its epochs")
        found = np.asarray(arrays_in(Path(path))["rates"], dtype=np.float64)[:steps]
        out[k * steps:k * steps + len(found)] = found
    return out


def _starts_callback(model, rates: list, keras, ends):
    """For a run of epochs between which a schedule set the learning rate: sets each epoch's rate (as the
    program reported it) and keeps the digests of the state the epoch then starts in, in ``ends.begun`` (the
    first epoch's rate is in its saved state)."""
    class Starts(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 0:
                return
            rate = rates[epoch]
            if isinstance(rate, (int, float)) and not isinstance(rate, bool) and np.isfinite(rate):
                model.optimizer.learning_rate.assign(rate)
            ends.begun.append(_state_digests(model))

    return Starts()


def _rates_callback(model, rates, keras):
    """Sets the learning rate each step ran with in the child (where a callback of the program's set it)."""
    class Rates(keras.callbacks.Callback):
        calls = 0  # one per execution, as in the child (steps_per_execution)

        def on_train_batch_begin(self, batch, logs=None):
            if self.calls < len(rates) and np.isfinite(rates[self.calls]):
                model.optimizer.learning_rate.assign(rates[self.calls])
            self.calls += 1

    return Rates()


def _assign(variables: list, state: dict):
    if len(state) != len(variables):
        raise Unreplayable(f"the saved starting state holds {len(state)} arrays where the graded model and its "
                           f"optimizer have {len(variables)}: the layers that train differ from the graded model's "
                           "(a layer frozen or unfrozen between two fits, or the model changed), which the grader "
                           "does not replay")
    for i, variable in enumerate(variables):
        value = state.get(f"a{i}")
        if value is None or tuple(value.shape) != tuple(variable.shape):
            raise Unreplayable(f"the saved starting state's array {i} does not have the shape of the graded "
                               f"model's ({tuple(variable.shape)})")
        variable.assign(value)


def _deserialised(settings: dict, keras) -> dict:
    deserialize_keras_object = keras.saving.deserialize_keras_object

    out = dict(settings)
    for key in ("optimizer", "loss"):
        if isinstance(out.get(key), (dict, list)):
            out[key] = deserialize_keras_object(out[key], safe_mode=True)
    for key in ("metrics", "weighted_metrics"):
        if isinstance(out.get(key), list):
            out[key] = [deserialize_keras_object(m, safe_mode=True) if isinstance(m, dict) else m for m in out[key]]
    return out


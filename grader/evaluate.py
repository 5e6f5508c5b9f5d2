"""Trusted evaluation: the checks' questions answered from the run's trace and, for the model, by the
evaluator process (``grader.evaluator``): the saved model never enters the grader's own process, and
neither does Keras."""

from __future__ import annotations

import re

from pathlib import Path

import numpy as np

from grader import outcome
from grader.checks import ModelUnavailable
from grader.evaluator import EvaluationLimit, EvaluatorUnavailable, InferenceError
from grader.modelcheck import UnsafeModel


_TF_NAME = re.compile(r"module '(tensorflow[\w.]*)' has no attribute '(\w+)'")
_IMPORT = re.compile(r"(?:cannot import name '(\w+)' from '((?:tensorflow|keras|tf_keras)[\w.]*)'|"
                     r"No module named '((?:tensorflow|keras)[\w.]*)')")


def other_version_hint(err: dict) -> str | None:
    """A sentence for an error that comes from a name another TensorFlow/Keras version had (the program
    ran where its author ran it, on another version), instead of "run your file once yourself"."""
    message = str(err.get("message") or "")
    m = _TF_NAME.search(message)
    if m:
        module = "tf" + m.group(1)[len("tensorflow"):]
        name = f"{module}.{m.group(2)}"
        return (f"`{name}` is not in TensorFlow 2, which graded your file: it is a TensorFlow 1 name (TensorFlow 2 "
                f"keeps TensorFlow 1's API as `tf.compat.v1`, e.g. `{name.replace('tf.', 'tf.compat.v1.', 1)}`). "
                "Use its TensorFlow 2 form (tf.keras for models, layers and optimizers), then submit again.")
    m = _IMPORT.search(message)
    if m:
        wanted = f"`{m.group(1)}` from `{m.group(2)}`" if m.group(1) else f"`{m.group(3)}`"
        return (f"Your file imports {wanted}, which another TensorFlow/Keras version had and the one grading your "
                "file (TensorFlow 2 with tf.keras) does not. Import it from `tensorflow.keras` (e.g. "
                "`from tensorflow.keras.layers import Dense`), then submit again.")
    return None


class Evidence:
    """What checks look at: the run, its trace, and (lazily) the trusted model and its predictions."""

    def __init__(self, exercise, run, source, dataset=None, evaluator=None, pretrained=None):
        self.exercise = exercise
        self.pretrained = pretrained or {}  # [dataset] pretrained weights: name -> grader.datasets.Located
        self.evaluator = evaluator  # grader.evaluator.Evaluator: loads and runs the model, in its own process
        self.run = run
        self.source = source
        self.dataset = dataset  # grader.datasets.Located, or None for exercises that carry their data
        self.trace = run.trace or {}
        self._model = None
        self._model_error: str | None = None
        self._loaded = False
        self._fingerprints: dict = {}
        self._accuracy: dict = {}
        self._record: dict | None = None

    # ------------------------------------------------------------ the run
    @property
    def fits(self) -> list[dict]:
        return self.trace.get("fits") or []

    @property
    def model_info(self) -> dict:
        return self.trace.get("model") or {}

    def graded_fits(self) -> list[dict]:
        """The fit calls made on the graded model."""
        calls = set(self.model_info.get("fit_calls") or [])
        return [f for f in self.fits if f["index"] in calls] if self.model_info.get("fitted") else []

    def why_no_model(self) -> str:
        """A sentence for a student on why there is no trained model to test."""
        run, t = self.run, self.trace
        err = t.get("error") or {}
        expected = self.expected_model_sentence()
        if run.status == "syntax_error":
            return f"Your code could not run: a syntax error at {err.get('where')} ({err.get('message')})."
        if run.status == "timeout":
            return (f"Your program was stopped at the {run.time_limit_s:g} s time limit before a trained model "
                    "could be saved.")
        if run.status == "memory":
            return f"Your program was stopped: it asked for more memory than the limit of {run.memory_limit_mib} MiB."
        if run.status == "disk":
            return f"Your program was stopped: its files took more than the disk limit of {run.disk_limit_mib} MiB."
        if run.status == "error" and not self.model_info.get("fitted"):
            return f"Your code raised {err.get('type')} at {err.get('where') or 'start-up'} before a model was trained."
        if run.status == "crashed":
            how = f"signal {run.signal}" if run.signal else f"exit code {run.exit_code}"
            return f"Your program ended abruptly ({how}) before the grader could save the model."
        mi = self.model_info
        if mi.get("not_keras"):
            return f"No Keras model to test: {mi['not_keras']}. {expected}"
        if mi.get("found") and not mi.get("saved"):
            return f"The model could not be saved for testing ({mi.get('save_error', 'unknown error')})."
        return f"No Keras model was found. {expected}"

    def expected_model_sentence(self) -> str:
        ex = self.exercise
        where = f"a variable named `{ex.model_variable}`"
        if ex.entry_point:
            where = f"a function `{ex.entry_point}()` that returns the model (or its History), or " + where
        return f"The grader looks for {where} holding a model built with tf.keras and trained with model.fit()."

    def outcome(self) -> dict:
        """What ended the program and when (grader/outcome.py): the same facts the report leads with."""
        return outcome.what_happened(outcome.run_facts(self.run), self.fits, self.run.time_limit_s)

    def limit_hint(self) -> str:
        """What to try after a time or memory limit stopped the program, from when it happened."""
        t, when = self.run.trace, self.outcome()["when"]
        at = f" (it was running {t['stopped_at']})" if t.get("stopped_at") else ""
        if self.run.status == "timeout":
            if t.get("stopped_in") == "importing TensorFlow":
                return "Grade again with a longer time limit: importing TensorFlow alone takes a few seconds here."
            if when == "after":
                return f"Training had ended when the time ran out{at}: look for a loop after model.fit that never ends."
            if when == "before":
                return f"The time ran out before training began{at}: look there for a loop that never ends."
            return "Train for fewer epochs or use a smaller model, so that training ends within the time limit."
        if when == "after":
            return ("Training had ended when the memory ran out: look at what your program does after model.fit "
                    "(a very large array?).")
        return "Load less data at once (use generators or smaller batches) or build a smaller model."

    def no_epoch_reason(self, fit: dict) -> tuple[str, str]:
        """Why a model.fit call trained nothing (an error before its first epoch, or epochs=0 asked for),
        and what to try."""
        where = f" ({self.source.locate(fit['line'])})" if isinstance(fit.get("line"), int) else ""
        if fit.get("error"):
            first = str(fit["error"]).splitlines()[0][:200]
            return (f"model.fit(...){where} stopped with an error before its first epoch ({first}).",
                    "Fix the error shown with its line in this report, then run your file once yourself.")
        return (f"model.fit(...){where} asked for {fit.get('epochs_requested')} epochs, so none ran.",
                "Ask model.fit for the number of epochs the task names (epochs=...).")

    def cause_hint(self) -> str | None:
        """The one cause behind the failed checks, when the run shows it (training never ran an epoch, or
        an error or sys.exit ended it early): said as every failed check's hint, in place of advice about
        the data or the epoch count that would send the student the wrong way."""
        fits, status, t = self.fits, self.run.status, self.trace
        last = fits[-1] if fits else None
        if not any(f.get("epochs_run") for f in fits):
            if status in ("timeout", "memory"):
                return self.limit_hint()
            if status in ("error", "syntax_error"):
                return self.unavailable_hint()
            if status == "exit":
                at = f" at {t['exit_at']}" if t.get("exit_at") else ""
                return f"Your program called sys.exit{at} before model.fit ran: remove that call so training can run."
            return self.no_epoch_reason(last)[1] if last is not None else None
        if status in ("error", "exit") and last is not None and outcome.fit_ending(last) == "error":
            where = f" ({self.source.locate(last['line'])})" if isinstance(last.get("line"), int) else ""
            what = "sys.exit" if str(last.get("error")).startswith("SystemExit") else "an error"
            return (f"Training was ended early by {what} in model.fit{where}, after {last.get('epochs_run')} of its "
                    f"{last.get('epochs_requested')} epochs: fix that (shown with its line in this report), and the model "
                    "will train for as long as you asked.")
        return None

    def unavailable_hint(self) -> str:
        if self.run.status in ("timeout", "memory"):
            return self.limit_hint()
        other = other_version_hint(self.run.trace.get("error") or {})
        if self.run.status == "error" and other:
            return other
        if self.run.status in ("syntax_error", "error"):
            return ("Fix the error shown with its line in this report, run your file once yourself, "
                    "then submit again.")
        if self.run.status == "disk":
            return ("Write fewer or smaller files (one copy of the data, one saved model rather than one per epoch), "
                    "then submit again.")
        return "Build the model with tf.keras.Sequential([...]), call model.compile(...) and model.fit(...)."

    # ------------------------------------------------------------ the model
    def model(self):
        if not self._loaded:
            self._loaded = True
            failed_early = self.run.status in ("error", "timeout", "crashed", "memory", "disk") and \
                not self.model_info.get("fitted")
            if self.run.model_path is None or failed_early:
                self._model_error = self.why_no_model()
            else:
                try:
                    self._model = self.evaluator.load(self.run.model_path)
                except UnsafeModel as exc:
                    self._model_error = f"The model cannot be graded safely: {exc}. Use only built-in Keras layers."
                except EvaluationLimit as exc:
                    self._model_error = str(exc)
                except EvaluatorUnavailable:
                    self._loaded = False
                    raise  # the grader's failure: the check is an error, the grading exit 3
                except Exception as exc:
                    self._model_error = f"The saved model could not be loaded ({type(exc).__name__}: {str(exc)[:300]})."
        if self._model is None:
            raise ModelUnavailable(self._model_error)
        return self._model

    def predict(self, inputs) -> np.ndarray:
        """Predictions for a list of scalar inputs, one output per input (flattened)."""
        model = self.model()
        x = np.asarray(inputs, dtype="float32")
        errors = []
        for shaped in (x.reshape(-1, 1), x):
            try:
                y = model.infer(shaped)
                return y.reshape(len(x), -1)[:, 0]
            except InferenceError as exc:
                errors.append(exc.type_name)
            except EvaluationLimit as exc:
                raise ModelUnavailable(str(exc)) from None
            except ValueError:  # predictions of another shape than one per input
                errors.append("ValueError")
        raise ModelUnavailable(f"The model could not make a prediction for one number at a time "
                               f"({errors[0]}). Give the first layer input_shape=[1].")

    def last_graded_fit(self) -> dict:
        """The last fit call that trained the graded model (ModelUnavailable, with the reason, if none)."""
        fits = [f for f in self.graded_fits() if f["epochs_run"]]
        if not fits:
            if not self.model_info.get("fitted"):
                raise ModelUnavailable(self.why_no_model() if not self.model_info.get("found")
                                       else "The graded model was never trained with model.fit(...).")
            raise ModelUnavailable("model.fit(...) did not complete a single epoch.")
        return fits[-1]

    def input_scale(self) -> tuple[float, str]:
        """The factor that turns 0..255 pixels into what the model was trained on, so held-out images
        are fed the same way: read from a batch of the training inputs (the trace peeks at one)."""
        for fit in reversed(self.graded_fits()):
            data = fit.get("data") or {}
            top = (data.get("batch") or {}).get("max", (data.get("x") or {}).get("max"))
            if top is None and data.get("kind") == "ImageDataGenerator":
                return float(data.get("rescale") or 1.0), ""
            if top is None:
                continue
            if top > 1.5:
                scales = any(layer.class_name == "Rescaling" for layer in self.layer_summary())
                return 1.0, (" (Your model takes pixel values 0..255 and scales them in its Rescaling layer, as it "
                             "was trained, so the grader fed these unscaled too.)" if scales else
                             " (Your model takes pixel values 0..255 as they are, as it was trained, so the "
                             "grader fed these unscaled too.)")
            if 0 < top <= 1.5 / 255:
                return 1 / 255.0 ** 2, (" (Your model was trained on pixels divided by 255 twice, before and in "
                                        "the ImageDataGenerator, so the grader fed these the same way.)")
            return 1 / 255.0, ""
        return 1 / 255.0, ""

    def held_back(self, split: str) -> bool:
        """Whether part of ``split`` was held back from the student's program (the grade is measured on
        that part; the dataset serves the part the program had as ``SPLIT_visible``)."""
        return bool(self.dataset is not None and self.dataset.held_back and split == "validation")

    def trained_on(self, split: str) -> bool:
        """Whether the graded model was trained on the dataset's ``split``: a training generator read
        that folder, or most of what fit received has the content of the grader's own copy of it (or of
        the part of it the program had, when part is held back)."""
        parts = [split] + ([f"{split}_visible"] if self.held_back(split) else [])
        return bool(self.folder_read(split)) or max(self.overlap(p) for p in parts) >= 0.5

    def folder_read(self, split: str) -> str:
        """The folder named ``split`` that a generator fed to a graded fit read ("" if none)."""
        for fit in self.graded_fits():
            directory = (fit.get("data") or {}).get("directory") or ""
            if directory and Path(directory).name == split:
                return directory
        return ""

    def overlap(self, split: str) -> float:
        """The largest share, over the graded fits, of training examples whose content hash is in the
        grader's copy of ``split`` (0.0 when nothing can be compared)."""
        ds = self.dataset.dataset if self.dataset is not None else None
        sampled = [(fit.get("data") or {}).get("fingerprint") or [] for fit in self.graded_fits()]
        if ds is None or ds.fingerprints is None or not any(sampled):
            return 0.0
        if split not in self._fingerprints:
            try:
                self._fingerprints[split] = ds.fingerprints(self.dataset, split)
            except Exception:  # no such split in this dataset
                self._fingerprints[split] = set()
        held_out = self._fingerprints[split]
        return max((sum(h in held_out for h in hashes) / len(hashes) for hashes in sampled if hashes), default=0.0)

    def accuracy(self, split: str) -> dict:
        """Accuracy of the graded model on a held-out split: {accuracy, examples, scale_note, skipped} or
        {problem, hint}. Measured once per split."""
        if split not in self._accuracy:
            self._accuracy[split] = self._measure(split)
        return self._accuracy[split]

    def accuracy_sample(self, split: str, limit: int) -> dict:
        """``accuracy(split)`` on at most ``limit`` examples, evenly spaced (the whole split's measure
        when a check has already taken it), with ``split_size``: how many the split has."""
        if split in self._accuracy:
            whole = self._accuracy[split]
            return whole if whole.get("problem") else dict(whole, split_size=whole["examples"])
        if (split, limit) not in self._accuracy:
            self._accuracy[(split, limit)] = self._measure(split, limit)
        return self._accuracy[(split, limit)]

    def record(self) -> dict:
        """The record of training held against the model (grader.record.verdict), taken once."""
        if self._record is None:
            from grader.record import verdict

            self._record = verdict(self)
        return self._record

    def record_contradiction(self) -> str | None:
        """Why the checks that rest on the record fail, when the model shows the record false."""
        found = self.record()
        return found["sentence"] if found["status"] == "contradicted" else None

    def _measure(self, split: str, limit: int | None = None) -> dict:
        if self.dataset is None:
            raise ModelUnavailable(f"The exercise '{self.exercise.name}' names no dataset to measure accuracy on.")
        model = self.model()
        data = self.dataset.dataset.load_split(self.dataset, split, model.input_shape)
        x, y = data.x, np.asarray(data.y)
        size = len(y)
        if limit is not None and size > limit:
            keep = np.linspace(0, size - 1, limit).astype(int)
            x, y = np.asarray(x)[keep], y[keep]
        factor, note = self.input_scale()
        classes = len(data.classes)
        out, error = None, None
        for shaped in (x, x[..., None], x.reshape(len(x), -1)):  # as it is, with a channel axis, or flat rows
            try:
                scaled = np.array(shaped, dtype=np.float32)
                scaled *= factor  # in place: one float32 copy of the split, not two
                out = model.infer(scaled)
                break
            except InferenceError as exc:
                error = exc
            except EvaluationLimit as exc:
                raise ModelUnavailable(str(exc)) from None
        if out is None:
            first = (str(error).splitlines() or [""])[0][:200]
            return {"problem": f"The model could not take the {split} images ({error.type_name}: {first}).",
                    "hint": "Make the first layer accept the images as they are, e.g. Flatten(input_shape=(28, 28))."}
        units = out.shape[-1] if out.ndim > 1 else 1
        if units == 1 and classes == 2:
            # one unit: a probability (sigmoid), or a logit when the loss said from_logits=True
            logits = any((f.get("compile") or {}).get("from_logits") for f in self.graded_fits())
            predicted = (out.reshape(-1) > (0.0 if logits else 0.5)).astype(int)
        elif data.occurring and units == len(data.occurring) < classes:
            # one unit per label that occurs, in label order (pd.get_dummies, LabelBinarizer)
            predicted = np.asarray(data.occurring)[out.reshape(len(y), -1).argmax(axis=1)]
        elif units != classes and not (data.spare_units and units > classes):
            return {"problem": f"Your model's last layer has {units} unit{'s' if units != 1 else ''}, but the data "
                               f"has {classes} classes ({', '.join(data.classes)}).",
                    "hint": ("End the model with Dense(1, activation='sigmoid') for two classes, or "
                             f"Dense({classes}, activation='softmax').") if classes == 2 else
                            f"End the model with Dense({classes}, activation='softmax')."}
        else:
            predicted = out.reshape(len(y), -1).argmax(axis=1)
        return {"accuracy": float(np.mean(predicted == y)), "examples": int(len(y)), "scale_note": note,
                "skipped": data.skipped, "split_size": size}

    def layer_summary(self, required: bool = False) -> list[dict]:
        """The graded model's layers, nested models opened up. Without a model: [] (or, if
        ``required``, ModelUnavailable with the reason)."""
        try:
            model = self.model()
        except EvaluatorUnavailable:
            if required:
                raise
            return []  # the checks that needed the model already report the grader's failure
        except ModelUnavailable:
            if required:
                raise
            return []
        return list(model.layers)

"""Diagnoses of what reaches the network and what comes out of it: unscaled pixels, and an output
layer that does not fit the labels or the loss (including TensorFlow's own errors about it)."""

from __future__ import annotations

import re

from grader.builtin.diagnoses.common import error_texts, fits_to_read
from grader.diagnoses import Diagnosis, Hint
from grader.hookspecs import hookimpl

SCALING_LAYERS = {"Rescaling", "Normalization", "BatchNormalization"}


def inputs_not_scaled(evidence, results):
    for fit in fits_to_read(evidence):
        data = fit.get("data") or {}
        batch, x = data.get("batch") or {}, data.get("x") or {}
        shape = batch.get("shape") or x.get("shape") or []
        top = batch.get("max", x.get("max"))
        images = len(shape) >= 3 or data.get("kind") == "ImageDataGenerator"
        if not images or top is None or top <= 1.5:
            continue
        if SCALING_LAYERS & {layer["class"] for layer in evidence.layer_summary()}:
            return None  # the model scales its own inputs
        where = "the first training batch" if batch else "the training images passed to model.fit"
        if data.get("kind") == "ImageDataGenerator":
            fix = "Give the ImageDataGenerator rescale=1./255, as the course does."
        else:
            fix = "Divide the images by 255.0 before training, e.g. training_images = training_images / 255.0."
        return Hint(title="Pixel values are not scaled to 0..1",
                    evidence=f"{where} had pixel values up to {top:.1f}. Networks learn far more easily when all "
                             "values are between 0 and 1.",
                    try_this=fix)
    return None


LABEL_RANGE = re.compile(r"Received a label value of (-?\d+) which is outside the valid range of \[0, (\d+)\)")
# the same mistake as TensorFlow words it when op determinism is on (a GPU)
LABEL_INDEX = re.compile(r"indices\[\d+\] = (-?\d+) is not in \[0, (\d+)\)(?=.*sparse_categorical_crossentropy)", re.S)
SAME_RANK = re.compile(r"Arguments `target` and `output` must have the same rank.*?target\.shape=\(([^)]*)\), "
                       r"output\.shape=\(([^)]*)\)", re.S)
SPARSE_RANK = re.compile(r"Argument `output` must have rank \(ndim\) `target\.ndim - 1`.*?target\.shape=\(([^)]*)\)",
                         re.S)
SAME_SHAPE = re.compile(r"Arguments `target` and `output` must have the same shape.*?target\.shape=\(([^)]*)\), "
                        r"output\.shape=\(([^)]*)\)", re.S)


def _label_range(m) -> dict:
    return {"label": m.group(1), "units": int(m.group(2)), "top": int(m.group(2)) - 1}


# TensorFlow's errors about labels and outputs -> (the fields a match gives, or None when it does not
# apply; title; evidence; what to try), said as sentences about the student's model
TRANSLATED = [
    ((LABEL_RANGE, LABEL_INDEX), _label_range, "The output layer has fewer units than there are classes",
     "TensorFlow stopped training: a label is {label}, but the last layer has {units} units, so it can only tell "
     "apart classes 0 to {top}.",
     "Give the last layer one unit per class, e.g. Dense(10, activation='softmax') for the ten Fashion-MNIST classes."),
    ((SAME_RANK,), lambda m: {} if "," in m.group(2) else None, "Integer labels with categorical_crossentropy",
     "TensorFlow stopped training: the labels are class numbers (one per example) but the loss "
     "categorical_crossentropy expects one-hot rows.",
     "Use loss='sparse_categorical_crossentropy' for labels that are class numbers."),
    ((SPARSE_RANK,), lambda m: {}, "One-hot labels with sparse_categorical_crossentropy",
     "TensorFlow stopped training: the labels are one-hot rows but the loss sparse_categorical_crossentropy "
     "expects one class number per example.",
     "Use loss='categorical_crossentropy' for one-hot labels, or pass the class numbers."),
    ((SAME_SHAPE,), lambda m: {"target": m.group(1), "output": m.group(2)}, "The output layer does not match the labels",
     "TensorFlow stopped training: the labels have shape ({target}) but the model's output has shape ({output}).",
     "For two classes with class_mode='binary' end with Dense(1, activation='sigmoid') and "
     "loss='binary_crossentropy'; for N classes, Dense(N, activation='softmax')."),
]


def _from_error(evidence):
    """TensorFlow's error about labels and outputs, said as a sentence about the student's model."""
    for text in error_texts(evidence):
        for patterns, fields, title, said, try_this in TRANSLATED:
            for pattern in patterns:
                m = pattern.search(text)
                found = fields(m) if m else None
                if found is not None:
                    return Hint(title=title, evidence=said.format(**found), try_this=try_this)
    return None


def _classes(data: dict) -> tuple[int | None, str]:
    """How many classes the labels say there are, and whether they are class numbers or one-hot."""
    if data.get("kind") == "ImageDataGenerator":
        mode = data.get("class_mode")
        n = data.get("num_classes")
        if mode == "binary":
            return 2, "binary"
        if mode in ("categorical", "sparse") and n:
            return n, "onehot" if mode == "categorical" else "numbers"
        return None, ""
    y = data.get("y") or {}
    shape = y.get("shape") or []
    if not shape or y.get("max") is None or not str(y.get("dtype", "")).startswith(("int", "uint", "float")):
        return None, ""
    if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
        top = y["max"]
        if top != int(top) or y.get("min", 0) < 0 or top > 1000:
            return None, ""  # regression targets
        return int(top) + 1, "numbers"
    if len(shape) == 2 and y.get("min") == 0 and y.get("max") == 1:
        return shape[1], "onehot"
    return None, ""


def output_mismatch(evidence, results):
    hint = _from_error(evidence)
    if hint:
        return hint
    for fit in fits_to_read(evidence):
        out, comp = fit.get("output") or {}, fit.get("compile") or {}
        units, act, loss = out.get("units"), out.get("activation"), str(comp.get("loss") or "")
        if not units or not loss:
            continue
        classes, kind = _classes(fit.get("data") or {})
        logits = comp.get("from_logits")
        if units == 1 and act == "softmax":
            return Hint(title="Softmax over a single unit",
                        evidence="the last layer has 1 unit with activation='softmax', which always outputs 1.0 "
                                 "whatever the image.",
                        try_this="For two classes use Dense(1, activation='sigmoid') with loss='binary_crossentropy'.")
        if "categorical_crossentropy" in loss and classes and classes > 2 and units != classes:
            return Hint(title="The output layer does not fit the number of classes",
                        evidence=f"the labels have {classes} classes but the last layer has {units} units.",
                        try_this=f"End the model with Dense({classes}, activation='softmax').")
        if "categorical_crossentropy" in loss and not logits and units > 1 and act != "softmax":
            return Hint(title="No softmax on the output layer",
                        evidence=f"the loss {loss} expects probabilities, but the last layer's activation is "
                                 f"{act or 'none'}.",
                        try_this=f"Use Dense({units}, activation='softmax') as the last layer.")
        if loss == "binary_crossentropy" and not logits and units == 1 and act != "sigmoid":
            return Hint(title="No sigmoid on the output layer",
                        evidence=f"the loss binary_crossentropy expects a probability, but the last layer's "
                                 f"activation is {act or 'none'}.",
                        try_this="Use Dense(1, activation='sigmoid') as the last layer.")
        if loss == "categorical_crossentropy" and kind == "numbers":
            return Hint(title="Integer labels with categorical_crossentropy",
                        evidence="the labels are class numbers but the loss categorical_crossentropy expects one-hot rows.",
                        try_this="Use loss='sparse_categorical_crossentropy'.")
        if loss == "sparse_categorical_crossentropy" and kind == "onehot":
            return Hint(title="One-hot labels with sparse_categorical_crossentropy",
                        evidence="the labels are one-hot rows but the loss sparse_categorical_crossentropy expects "
                                 "class numbers.",
                        try_this="Use loss='categorical_crossentropy' (or class_mode='sparse' in the generator).")
    return None


@hookimpl
def grader_register_diagnoses(register):
    register(Diagnosis("inputs_not_scaled", inputs_not_scaled,
                       "Image pixels reach the network as 0..255 instead of 0..1."))
    register(Diagnosis("output_mismatch", output_mismatch,
                       "The last layer's units or activation do not fit the labels or the loss."))

"""Whether training started from weights a freshly built model has (runs in the evaluator process, with
the model rebuilt from the graded model's file and assigned the state training began in): weights set by
hand, or trained before, do not look like what the model's initialisers draw. Imports only NumPy and what
it is handed (the model, Keras).
"""

from __future__ import annotations

import numpy as np

FRESH_SIZE = 64  # entries an array needs for its spread to be compared with the initialiser's
FRESH_SPREAD = (0.5, 2.0)  # its standard deviation against a fresh draw's: 64 values estimate it within ~10%


def fresh_problem(model, keras) -> str | None:
    """Whether ``model``'s trainable weights look like what its initialisers draw: the arrays whose initialiser is a
    constant (biases: zeros) hold exactly it, and arrays of at least FRESH_SIZE random values spread as
    a fresh draw does and no further than twice its largest value. None, or what is wrong. A fresh copy
    of the model (``clone_model``: the same layers, newly initialised) tells the constant initialisers (an
    array of equal values) from the random ones; an array of one value is taken for a constant when a fresh
    one holds 0 or 1 (what Zeros and Ones give: a random draw of exactly either is all but impossible), and is
    too small for its spread to say anything otherwise."""
    weights = [np.asarray(v) for v in model.trainable_weights]  # (frozen layers may hold pre-trained weights)
    try:
        drawn = [np.asarray(v) for v in keras.models.clone_model(model).trainable_weights]
    except Exception:
        return None
    if len(drawn) != len(weights):
        return None
    names = [getattr(w, "path", None) or getattr(w, "name", f"array {i}") for i, w in enumerate(model.trainable_weights)]
    initialisers = _initialisers(model)
    for name, variable, w, a in zip(names, model.trainable_weights, weights, drawn):
        if w.dtype.kind != "f" or w.shape != a.shape or not a.size:
            continue
        if bool(np.all(a == a.flat[0])) if a.size > 1 else float(a.flat[0]) in (0.0, 1.0):
            if not np.array_equal(w, a):
                return f"{name} does not start at its initial value ({_value(a)})"
        elif w.size < FRESH_SIZE:  # too few values for a spread: held within what its initialiser draws
            bound = _initialiser_bound(initialisers.get(id(variable)), w.shape, w.size)
            if bound is not None and float(np.abs(w).max()) > bound:
                return (f"{name} does not start as its initialiser draws (a value of {float(np.abs(w).max()):.3g} where "
                        f"its initialiser's are within {bound:.3g})")
        else:
            spread, fresh_spread = float(np.std(w)), float(np.std(a))
            largest = 2 * float(np.abs(a).max())
            low, high = FRESH_SPREAD
            if not low * fresh_spread <= spread <= high * fresh_spread:
                return (f"{name} does not start as its initialiser draws (spread {spread:.3g} where a fresh draw has "
                        f"{fresh_spread:.3g})")
            if float(np.abs(w).max()) > largest:  # (helper-19: the spread was named when this was what failed)
                return (f"{name} does not start as its initialiser draws (a value of {float(np.abs(w).max()):.3g} "
                        f"where a fresh draw's reach {largest / 2:.3g})")
    return None


SMALL_DRAWS = 64  # values drawn from an initialiser to bound an array too small for its spread to say anything
SMALL_MARGIN = 1.25  # past the largest of them, for Keras' bounded initialisers: an honest glorot_uniform draw goes
# further with a chance of 0.8 ** 64, under one in a million
BOUNDED = ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "RandomUniform",
           "TruncatedNormal")  # (Keras' normal ones among them draw a truncated normal: within two deviations)


def _initialisers(model) -> dict:
    """The initialiser each trainable weight was drawn by (id of the variable -> it), for the layers that keep
    one per weight (``kernel_initializer``, ``bias_initializer``, ``recurrent_initializer``...)."""
    found = {}
    layers = model._flatten_layers(include_self=False) if hasattr(model, "_flatten_layers") else model.layers
    for layer in layers:
        for variable in getattr(layer, "trainable_weights", []):
            name = str(getattr(variable, "name", "")).split("/")[-1].split(":")[0]
            attribute = "recurrent_initializer" if name == "recurrent_kernel" else f"{name}_initializer"
            initialiser = getattr(layer, attribute, None)
            if callable(initialiser) and id(variable) not in found:
                found[id(variable)] = initialiser
    return found


def _initialiser_bound(initialiser, shape, size: int) -> float | None:
    """How far from 0 what ``initialiser`` draws for an array of ``shape`` goes: the largest of SMALL_DRAWS
    values drawn by new copies of it (a seeded one draws the very values the program's did), SMALL_MARGIN times
    that for the ones Keras bounds (uniform, truncated normal: a draw past it is all but impossible), twice for
    the others. None when it cannot be drawn."""
    if initialiser is None:
        return None
    config = {}
    try:
        config = initialiser.get_config() or {}
    except Exception:
        pass
    bounded = type(initialiser).__name__ in BOUNDED or (
        type(initialiser).__name__ == "VarianceScaling" and config.get("distribution") in ("uniform", "truncated_normal"))

    def draw():  # (an unseeded initialiser draws the same values at every call: a new one for each draw)
        fresh = initialiser if config.get("seed") is not None else type(initialiser).from_config(config)
        return np.asarray(fresh(shape=tuple(shape), dtype="float32"))

    try:
        largest = max(float(np.abs(draw()).max()) for _ in range(-(-SMALL_DRAWS // size)))
    except Exception:
        return None
    return largest * (SMALL_MARGIN if bounded else 2.0) if largest > 0 else None


def _value(a) -> str:
    flat = np.unique(a)
    return f"{float(flat[0]):g}" if flat.size == 1 else "its initialiser's constant"

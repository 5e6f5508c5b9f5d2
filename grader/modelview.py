"""The student's model as a check sees it (trusted side): its input shape, its layers with their Keras
configs, its parameter count, and a way to run it on inputs, all through the evaluator process; the
Keras object itself never enters the grader's process. Part of the public API (``grader.api``)."""

from __future__ import annotations

from typing import Any

MAX_CONFIG_KEYS = 64
MAX_TEXT = 200


def _plain(value, depth: int = 0):
    """A value from the evaluator made plain and bounded (it describes a model the student crafted)."""
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, list) and depth < 2:
        return [_plain(v, depth + 1) for v in value[:16]]
    return None


def _shape(value) -> tuple | None:
    if not isinstance(value, list) or len(value) > 8:
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value):
        return None
    return tuple(value)


class Layer(dict):
    """One layer: a dict (``layer["class"]``, as in the JSON report) whose keys and Keras config entries
    are also attributes: ``layer.class_name``, ``layer.name``, ``layer.output_shape`` (a tuple, batch
    axis first: ``(None, 3)``), ``layer.input_shape``, ``layer.params``, ``layer.depth`` (0 for the model's
    own layers, 1 inside a nested model), ``layer.config`` and, from it, ``layer.units``,
    ``layer.activation``, ``layer.filters``, ``layer.kernel_size`` ... A name the layer does not have
    raises AttributeError listing what it has, never a quiet None."""

    def __init__(self, row: dict):
        config = row.get("config") if isinstance(row.get("config"), dict) else {}
        super().__init__(
            {"class": str(row.get("class", ""))[:MAX_TEXT], "name": str(row.get("name", ""))[:MAX_TEXT],
             "input_shape": _shape(row.get("input_shape")), "output_shape": _shape(row.get("output_shape")),
             "params": row.get("params") if isinstance(row.get("params"), int) else 0,
             "depth": row.get("depth") if isinstance(row.get("depth"), int) else 0,
             "config": {str(k)[:MAX_TEXT]: _plain(v) for k, v in list(config.items())[:MAX_CONFIG_KEYS]}})

    @property
    def class_name(self) -> str:
        return self["class"]

    def __getattr__(self, name: str) -> Any:
        if name in self:
            return self[name]
        if name in self["config"]:
            return self["config"][name]
        raise AttributeError(f"layer '{self['name']}' ({self['class']}) has no '{name}'; it has "
                             f"{', '.join(sorted(k for k in self if k != 'class'))}, class_name, and its config's "
                             f"{', '.join(sorted(self['config'])) or 'nothing'}")


class ModelView:
    """The graded model. ``input_shape`` (one example, without the batch axis: ``(28, 28, 1)``, or None),
    ``layers`` (list of Layer, nested models opened up), ``count_params()``, ``infer(x)`` (the model's
    outputs for a NumPy array, computed in the evaluator process), and ``weight_digests`` (a short hash of
    each weight array, to tell whether it holds a known weights file's arrays unchanged)."""

    def __init__(self, evaluator, input_shape, layers: list, digests: list | None = None):
        self.evaluator = evaluator
        self.input_shape = _shape(input_shape)
        # a digest of each weight array, in the model's order (see weight_digests in grader/modelcheck.py)
        self.weight_digests = [d[:32] for d in digests if isinstance(d, str)] if isinstance(digests, list) else []
        self.layers = [Layer(row) for row in layers if isinstance(row, dict)] if isinstance(layers, list) else []

    def infer(self, x):
        """The model's outputs for ``x`` (a NumPy array). Raises InferenceError or EvaluationLimit."""
        return self.evaluator.infer(x)

    def count_params(self) -> int:
        return sum(layer["params"] for layer in self.layers if layer["depth"] == 0)

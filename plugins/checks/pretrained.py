"""Check type ``pretrained_base``: the trained model holds a registered weights file's arrays unchanged
(loaded, then frozen), up to the layer the task cuts at and nothing beyond it.

Told from the weights themselves, on the trusted side: each weight array of the model (measured in the
evaluator) and of the file is identified by a hash of its values (grader.modelcheck.digest), so neither
layer names (which differ between Keras versions and between ``weights='imagenet'`` and
``load_weights``) nor the program's record of training are trusted.
"""

from __future__ import annotations

import functools
import re

from grader.builtin.datasets.pretrained import file_layers, matched
from grader.checks import CheckType, Field, failed, passed, plural
from grader.hookspecs import hookimpl

FREEZE = ("Load the weights file into the pre-trained model (pre_trained_model.load_weights(local_weights_file), "
          "or weights='imagenet'), set layer.trainable = False for every layer of it, and only then build, compile "
          "and fit the model on top of it.")


@functools.lru_cache(maxsize=8)
def _layers(path: str, stamp: str) -> list[tuple[str, list[str]]]:
    return file_layers(path)


def _block(layers: list, index: int, forward: bool) -> str:
    """The name of the block (``mixed7``) the model reaches when its last layer of the file is
    ``index``: the whole-block layer right after it (before the next layer with weights), else the
    nearest one after it (``forward``) or before it."""
    names = [n for n, _ in layers]
    following = next((i for i in range(index + 1, len(layers)) if layers[i][1]), len(layers))
    order = [*range(index, following), *(range(following, len(names)) if forward else range(index, -1, -1))]
    return next((names[i] for i in order if re.fullmatch(r"mixed\d+", names[i])), names[index])


def check_pretrained_base(evidence, check):
    name = check.params["weights"]
    located = evidence.pretrained.get(name)
    if located is None:
        raise RuntimeError(f"the exercise's [dataset] pretrained does not list '{name}', which this check reads")
    layers = _layers(str(located.path / located.dataset.files[0]), located.stamp())
    names = [n for n, _ in layers]
    cut = check.params.get("cut_at") or names[-1]
    if cut not in names:
        raise RuntimeError(f"cut_at = '{cut}' is not a layer of {name}'s weights file")
    end = names.index(cut) + 1
    base = [d for _, ds in layers[:end] for d in ds]
    beyond = {d for _, ds in layers[end:] for d in ds} - set(base)
    present = evidence.model().weight_digests
    title = located.dataset.title.split(" (")[0]
    kept = matched(base, present)
    if kept == 0:
        return failed(f"The model holds none of the {plural(len(base), 'weight array')} of {title} up to {cut} as the "
                      "weights file has them: either the pre-trained weights were never loaded (weights=None "
                      "and no load_weights) or training changed every one of them (the layers were left trainable).",
                      expected=f"{len(base)} arrays unchanged", got=0, hint=FREEZE)
    have = set(present)
    if kept < len(base):
        whole = [all(d in have for d in ds) for _, ds in layers[:end]]
        last = max((i for i, ok in enumerate(whole) if ok and layers[i][1]), default=0)
        kept_part = {d for _, ds in layers[:last + 1] for d in ds}
        rest = {d for _, ds in layers[last + 1:end] for d in ds} - kept_part  # (zero biases recur everywhere)
        if all(whole[:last + 1]) and not rest & have:
            return failed(f"The model holds {title}'s pre-trained layers only up to {_block(layers, last, False)}; "
                          f"the task cuts it at {cut}.", expected=cut, got=_block(layers, last, False),
                          hint=f"Take the pre-trained model's output at pre_trained_model.get_layer('{cut}').output.")
        return failed(f"Training changed {len(base) - kept} of the {len(base)} pre-trained weight arrays of {title} up to "
                      f"{cut} ({kept} kept as the weights file has them): some pre-trained layers were left trainable.",
                      expected=f"{len(base)} arrays unchanged", got=kept, hint=FREEZE)
    extra = [i for i, (_, ds) in enumerate(layers) if i >= end and any(d in beyond and d in have for d in ds)]
    if extra:
        reached = _block(layers, max(extra), True)
        return failed(f"The model holds {title}'s pre-trained layers beyond {cut}, up to {reached}: the task cuts the "
                      f"pre-trained model at {cut}.", expected=cut, got=reached,
                      hint=f"Build the model on pre_trained_model.get_layer('{cut}').output, not on the pre-trained "
                           "model's own output.")
    return passed(f"The model holds {title}'s pre-trained weights up to {cut}, all {len(base)} arrays as the weights "
                  "file has them (loaded and frozen), and none of the layers after it.")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="pretrained_base", run=check_pretrained_base,
        description="The model holds a registered weights file's arrays unchanged by training (loaded, then "
                    "frozen), up to the layer the task cuts at and none beyond it.",
        fields={"weights": Field("string", help="the weights, as named in the exercise's [dataset] pretrained"),
                "cut_at": Field("string", required=False,
                                help="the layer the pre-trained model is cut at ('mixed7'); all of it if not given")}))

"""Check types about the model and how it was trained: ``convolutional`` and ``augmented``."""

from grader.checks import CheckType, Field, failed, passed, plural
from grader.hookspecs import hookimpl

CONVOLUTIONS = {"Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
                "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"}
AUGMENTATION_LAYERS = {"RandAugment", "AugMix", "MixUp", "CutMix", "Solarization"}


def is_augmentation_layer(name: str) -> bool:
    return name.startswith("Random") or name in AUGMENTATION_LAYERS


def check_convolutional(evidence, check):
    classes = [layer["class"] for layer in evidence.layer_summary(required=True)]
    convs = [c for c in classes if c in CONVOLUTIONS]
    pools = [c for c in classes if "Pooling" in c]
    if convs and pools:
        return passed(f"The model is convolutional: {plural(len(convs), 'convolution layer')} and "
                      f"{plural(len(pools), 'pooling layer')}; its layers are: {', '.join(classes)}.")
    missing = [n for n, have in (("convolution layer (Conv2D)", convs), ("pooling layer (MaxPooling2D)", pools))
               if not have]
    lacks = f"neither a {missing[0]} nor a {missing[1]}" if len(missing) == 2 else f"no {missing[0]}"
    return failed(f"The model has {lacks}; its layers are: {', '.join(classes)}.",
                  hint="Stack Conv2D(filters, (3, 3), activation='relu') and MaxPooling2D(2, 2) blocks "
                       "before Flatten() and the Dense layers.")


# The least setting of each transform that changes a picture visibly (rotation in degrees, channel
# shifts in pixel values, the others as fractions); below it, a transform is there in name only.
LEAST = {"rotation_range": 1.0, "channel_shift_range": 1.0}


def _meaningful(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    values = [abs(v - 1.0) if name in ("zoom_range", "brightness_range") else abs(v)
              for v in (value if isinstance(value, list) else [value]) if isinstance(v, (int, float))]
    return any(v >= LEAST.get(name, 0.01) for v in values)


def _transforms(data) -> dict:
    """The transforms that change pictures: settings above the minimums, of a generator whose
    random_transform was seen to change a picture (a subclass may set them and do nothing)."""
    if data.get("transforms_change_pictures") is False:
        return {}
    return {k: v for k, v in (data.get("random_transforms") or {}).items() if _meaningful(k, v)}


def _generator_text(data) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(_transforms(data).items()))


def check_augmented(evidence, check):
    fit = evidence.last_graded_fit()
    data, val = fit.get("data") or {}, fit.get("validation") or {}
    ways = []
    if data.get("kind") == "ImageDataGenerator" and _transforms(data):
        ways.append(f"ImageDataGenerator with {_generator_text(data)}")
    layers = [layer["class"] for layer in evidence.layer_summary(required=True)
              if is_augmentation_layer(layer["class"])]
    if layers:
        ways.append(f"augmentation layers in the model ({', '.join(layers)})")
    if data.get("kind") == "tf.data" and data.get("random_ops"):
        ways.append(f"random operations in your tf.data pipeline ({', '.join(data['random_ops'])})")
    if not ways:
        tiny = data.get("random_transforms") or {}
        if data.get("kind") == "ImageDataGenerator" and tiny:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(tiny.items()))
            meaningful = any(_meaningful(k, v) for k, v in tiny.items())  # set, but the generator ignores them
            why = "leave every picture as it was (its random_transform changes nothing)" if meaningful \
                else "are too small to change a picture"
            return failed(f"Your training ImageDataGenerator's random transforms ({shown}) {why}: every epoch shows "
                          "the network the same pictures.",
                          hint="Use settings that change the pictures, e.g. rotation_range=40, width_shift_range=0.2, "
                               "zoom_range=0.2, horizontal_flip=True.")
        if data.get("kind") == "ImageDataGenerator" and data.get("rescale"):
            return failed("Your training ImageDataGenerator only rescales the images. Rescaling is not "
                          "augmentation: every epoch shows the network the very same pictures.",
                          hint="Add random transforms, e.g. ImageDataGenerator(rescale=1./255, rotation_range=40, "
                               "width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, "
                               "horizontal_flip=True, fill_mode='nearest').")
        return failed("The training data was not augmented: no random transforms in an ImageDataGenerator, no "
                      "augmentation layers (RandomFlip, RandomRotation, ...) in the model, no random operations "
                      "in a tf.data pipeline.",
                      hint="Use ImageDataGenerator with rotation_range, width_shift_range, horizontal_flip, ... or "
                           "put tf.keras.layers.RandomFlip('horizontal') and RandomRotation(0.1) first in the model.")
    if val.get("kind") == "ImageDataGenerator" and _transforms(val):
        return failed(f"Training data was augmented ({'; '.join(ways)}), but so was the validation data "
                      f"({_generator_text(val)}): validation should show the real pictures, unchanged.",
                      hint="Give the validation ImageDataGenerator only rescale=1./255.", fraction=0.5)
    return passed(f"The training data was augmented: {'; '.join(ways)}.")


def check_model_size(evidence, check):
    n = evidence.model().count_params()
    most = check.params["max_params"]
    if n <= most:
        return passed(f"The model has {plural(n, 'parameter')} (at most {most} allowed).")
    layers = ", ".join(f"{layer.class_name}({layer.params})" for layer in evidence.model().layers)
    return failed(f"The model has {plural(n, 'parameter')}; at most {most} are allowed. Its layers: {layers}.",
                  expected=f"<= {most}", got=n, hint="Keep to the model the task describes (one Dense layer with "
                                                     "units=1 is 2 parameters: a weight and a bias).")


@hookimpl
def grader_register_checks(register):
    register(CheckType(
        name="model_size", run=check_model_size,
        description="The model has at most a number of parameters (one neuron: 2).",
        fields={"max_params": Field("integer", help="most parameters allowed")}))
    register(CheckType(name="convolutional", run=check_convolutional,
                       description="The model has at least one convolution and one pooling layer."))
    register(CheckType(name="augmented", run=check_augmented,
                       description="The training data was randomly augmented during fit (rescaling alone is not).",
                       rests_on_record=True))

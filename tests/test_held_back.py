"""Image exercises are graded on validation images the program never had: part of validation/ is held
back from the child's copy, wherever it is staged, and training on the rest (even renamed) is caught."""

import json

from conftest import run_cli

PROBE = '''import os
import shutil
import zipfile

import tensorflow as tf

counts = {}
for place in ("cats_and_dogs_filtered/validation", "/tmp/cats_and_dogs_filtered/validation",
              "../data/cats_and_dogs_filtered/validation"):
    counts[place] = sum(len(files) for _, _, files in os.walk(place))
archive = tf.keras.utils.get_file("cats_and_dogs_filtered.zip",
                                  origin="https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip")
with zipfile.ZipFile(archive) as z:
    counts["zip"] = sum("/validation/" in n and n.endswith(".jpg") for n in z.namelist())
print("validation images:", counts)
shutil.copytree("cats_and_dogs_filtered/validation", "my_images")
gen = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255, horizontal_flip=True)
data = gen.flow_from_directory("my_images", target_size=(64, 64), batch_size=24, class_mode="binary")
model = tf.keras.Sequential([tf.keras.Input(shape=(64, 64, 3)), tf.keras.layers.Conv2D(8, 3, activation="relu"),
                             tf.keras.layers.MaxPooling2D(4), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(data, epochs=2)
'''


def test_the_program_has_only_the_visible_images_and_training_on_a_renamed_copy_fails(tmp_path, standin):
    (tmp_path / "probe.py").write_text(PROBE)
    out = tmp_path / "r.json"
    run_cli("grade", "cnn_augmentation", tmp_path / "probe.py", "--data-dir", standin, "--json", out)
    report = json.loads(out.read_text())
    visible = sum(1 for _ in (standin / "cats_and_dogs_filtered" / "validation").rglob("*.jpg")) * 6 // 10
    assert f"validation images: {{'cats_and_dogs_filtered/validation': {visible}, " \
           f"'/tmp/cats_and_dogs_filtered/validation': {visible}, '../data/cats_and_dogs_filtered/validation': " \
           f"{visible}, 'zip': {visible}}}" in report["run"]["output_tail"]
    check = {c["name"]: c for c in report["checks"]}["validation_accuracy"]
    assert (check["status"], check["message"]) == (
        "failed", "Your model was trained on the validation images themselves, so its accuracy on them says nothing "
                  "about pictures it has not seen.")
    hint = {d["name"]: d for d in report["diagnoses"]}["trained_on_evaluation_data"]
    assert hint["title"] == "Trained on your validation images"


def test_show_says_which_images_the_grade_is_measured_on():
    result = run_cli("show", "cnn_augmentation")
    assert ("40% of the cats_and_dogs_filtered validation images (per class, the same ones every time) are held "
            "back from your program: your validation/ folder holds the other 60%, and validation accuracy is "
            "graded on the held-back images.") in result.output


def test_training_on_the_test_split_it_was_handed_is_named(tmp_path, standin):
    (tmp_path / "s.py").write_text(
        "import tensorflow as tf\n(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()\n"
        "model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(),\n"
        "                             tf.keras.layers.Dense(10, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "model.fit(x_test / 255.0, y_test, epochs=1)\n")
    out = tmp_path / "r.json"
    run_cli("grade", "fashion_mnist_callback", tmp_path / "s.py", "--data-dir", standin, "--json", out)
    hint = {d["name"]: d for d in json.loads(out.read_text())["diagnoses"]}["trained_on_evaluation_data"]
    assert (hint["title"], hint["evidence"]) == (
        "Trained on your test split",
        "100% of a sample of the examples model.fit trained on are the test examples your program was given "
        "(x_test, y_test).")

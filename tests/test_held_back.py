"""Exercises are graded on evaluation data the program never had: part of validation/ (or of
sign_mnist_test.csv) is held back from the child's copy, wherever it is staged, and training on the
rest (even renamed) is caught. The copy keeps the real file's size: decoys, examples of the training
split, stand in for what is held back, never more than a fifth of the training split, so a program
that trains on x_train is never taken for one that trains on its test split, whatever the size."""

import dataclasses
import json

import numpy as np

from conftest import by_name, run_cli
from grader import datasets
from grader.builtin.datasets import idx
from grader.builtin.datasets.sign_mnist import read_table
from grader.fingerprint import _spread, file_hashes, row_hashes

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
    # as many pictures as the real folders: the 40% held back are there in name only, as decoys
    assert "validation images: {'cats_and_dogs_filtered/validation': 1000, '/tmp/cats_and_dogs_filtered/validation': " \
           "1000, '../data/cats_and_dogs_filtered/validation': 1000, 'zip': 1000}" in report["run"]["output_tail"]
    check = {c["name"]: c for c in report["checks"]}["validation_accuracy"]
    assert (check["status"], check["message"]) == (
        "failed", "Your model was trained on the validation images themselves, so its accuracy on them says nothing "
                  "about pictures it has not seen.")
    hint = {d["name"]: d for d in report["diagnoses"]}["trained_on_evaluation_data"]
    assert hint["title"] == "Trained on your validation images"


def test_show_says_which_images_the_grade_is_measured_on():
    result = run_cli("show", "cnn_augmentation")
    assert ("40% of the cats_and_dogs_filtered validation images (per class, the same ones every time) are held "
            "back from your program: your validation/ folder (training images stand in, under their names, for those "
            "held back) holds the other 60%, and validation accuracy is graded on the held-back images."
            ) in result.output


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


def hashes(x) -> set:
    return set(row_hashes(np.asarray(x), limit=None))


def test_the_program_copy_of_every_evaluation_split_has_the_real_size_and_none_of_what_is_held_back(standin, tmp_path):
    """Staged as the exercises stage them: MNIST and Fashion-MNIST's test split entirely held back,
    half of sign_mnist_test.csv's rows (sign_language), 40% of cats_and_dogs_filtered's validation
    pictures (cnn_augmentation)."""
    def stage(name, held_back=0.0):
        loc = dataclasses.replace(datasets.locate(name, standin), held_back=held_back)
        work = tmp_path / name
        work.mkdir()
        return loc, loc.dataset.stage(loc, work), work

    loc, _, work = stage("mnist")
    train, test = (loc.dataset.load_split(loc, part) for part in ("train", "test"))
    with np.load(work / ".keras" / "datasets" / "mnist.npz", allow_pickle=False) as f:
        copy = {k: f[k] for k in f.files}
    assert {k: v.shape for k, v in copy.items()} == {"x_train": (60000, 28, 28), "y_train": (60000,),
                                                     "x_test": (10000, 28, 28), "y_test": (10000,)}
    assert np.array_equal(copy["x_train"], train.x) and hashes(copy["x_test"]) <= hashes(train.x)
    assert not hashes(copy["x_test"]) & hashes(test.x)
    rows = datasets.decoy_rows(60000, 10000)
    assert np.array_equal(copy["x_test"], train.x[rows]) and np.array_equal(copy["y_test"], train.y[rows])

    loc, _, work = stage("fashion_mnist")
    train, test = (loc.dataset.load_split(loc, part) for part in ("train", "test"))
    folder = work / ".keras" / "datasets" / "fashion-mnist"
    x_test = idx.read(folder / "t10k-images-idx3-ubyte.gz", 3)
    y_test = idx.read(folder / "t10k-labels-idx1-ubyte.gz", 1)
    assert (x_test.shape, y_test.shape) == ((10000, 28, 28), (10000,))
    assert hashes(x_test) <= hashes(train.x) and not hashes(x_test) & hashes(test.x)

    loc, staged, work = stage("sign_mnist", 0.5)
    real_x, real_y = read_table(standin / "sign-language-mnist" / "sign_mnist_test.csv")
    copy_x, copy_y = read_table(work / "sign-language-mnist" / "sign_mnist_test.csv")
    held = datasets.held_back_rows(real_y, 0.5)
    assert (len(copy_y), int(held.sum()), len(loc.dataset.load_split(loc, "validation").y)) == (7172, 3587, 3587)
    assert np.array_equal(copy_x[~held], real_x[~held]) and np.array_equal(copy_y[~held], real_y[~held])
    train = loc.dataset.load_split(loc, "train")
    rows = datasets.decoy_rows(27455, 3587)
    assert np.array_equal(copy_x[held], train.x[rows]) and np.array_equal(copy_y[held], train.y[rows])
    assert not hashes(copy_x) & hashes(real_x[held])

    loc, staged, work = stage("cats_and_dogs_filtered", 0.4)
    held = loc.dataset.load_split(loc, "validation")
    copy = work / "cats_and_dogs_filtered" / "validation"
    assert {p.name: sum(1 for _ in p.iterdir()) for p in copy.iterdir()} == {"cats": 500, "dogs": 500}
    assert len(held.y) == 400 and sorted(p.name for p in copy.iterdir()) == held.classes
    originals = sorted((standin / "cats_and_dogs_filtered" / "validation").rglob("*.jpg"))
    copies = sorted(copy.rglob("*.jpg"))
    assert [p.relative_to(copy) for p in copies] == [p.relative_to(originals[0].parent.parent) for p in originals]
    train = set(file_hashes(sorted((standin / "cats_and_dogs_filtered" / "train").rglob("*.jpg")), limit=None))
    same = [a.read_bytes() == b.read_bytes() for a, b in zip(originals, copies)]
    decoys = [p for p, kept in zip(copies, same) if not kept]
    assert (len(decoys), set(file_hashes(decoys, limit=None)) <= train) == (400, True)


def test_decoys_are_at_most_a_fifth_of_the_training_split_and_no_slice_of_it_is_mostly_decoys():
    assert [len(datasets.decoy_rows(n, size)) for n, size in
            [(60000, 10000), (27455, 3586), (1000, 200), (3000, 3000), (3000, 500), (9, 5), (4, 4), (0, 10)]] == \
        [10000, 3586, 200, 600, 500, 1, 0, 0]
    assert np.array_equal(datasets.decoy_rows(60000, 10000), datasets.decoy_rows(60000, 10000))
    worst = 0.0
    for n in [5, 12, 100, 2047, 2048, 3000, 10235, 12283, 20470, 60000]:  # 12283 = 6 * 2047 + 1: the grader's
        rows = datasets.decoy_rows(n, n)                                 # sample of 2048 steps by 6 rows
        for picked in [_spread(n, 2048), np.arange(n)[: max(1, n // 10)], *(np.arange(n)[::k] for k in (2, 3, 5, 6))]:
            worst = max(worst, float(np.isin(picked, rows).mean()) if len(picked) >= 10 else 0.0)
    assert worst < 0.3


def small_fashion_mnist(standin, folder, rows=3000):
    """A Fashion-MNIST-format dataset of ``rows`` training and as many test images, as an instructor
    might import: the stand-in's first rows."""
    loc = datasets.locate("fashion_mnist", standin)
    source = folder / "source"
    source.mkdir(parents=True)
    for split, images, labels in (("train", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                                  ("test", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")):
        part = loc.dataset.load_split(loc, split)
        idx.write(source / images, part.x[:rows])
        idx.write(source / labels, part.y[:rows])
    result = run_cli("data", "import", "fashion_mnist", source, "--data-dir", folder / "data")
    assert result.exit_code == 0, result.output
    return folder / "data"


TRAINS_ON = """import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
print("shapes", x_train.shape, x_test.shape)
model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit({x} / 255.0, {y}, epochs=1, validation_data=(x_test / 255.0, y_test), verbose=0)
"""


def test_a_small_imported_dataset_gets_a_small_decoy_and_training_on_x_train_is_not_taken_for_the_test_split(
        standin, tmp_path):
    data = small_fashion_mnist(standin, tmp_path)
    reports = {}
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        (tmp_path / f"{x}.py").write_text(TRAINS_ON.format(x=x, y=y))
        out = tmp_path / f"{x}.json"
        run_cli("grade", "fashion_mnist_callback", tmp_path / f"{x}.py", "--data-dir", data, "--json", out)
        reports[x] = json.loads(out.read_text())
    honest = reports["x_train"]
    assert "shapes (3000, 28, 28) (600, 28, 28)" in honest["run"]["output_tail"]
    assert "trained_on_evaluation_data" not in {d["name"] for d in honest["diagnoses"]}
    assert by_name(honest)["test_accuracy"]["message"].startswith(
        "Your model's accuracy on 3000 test examples your program never saw is ")
    hint = {d["name"]: d for d in reports["x_test"]["diagnoses"]}["trained_on_evaluation_data"]
    assert (hint["title"], hint["evidence"]) == (
        "Trained on your test split",
        "100% of a sample of the examples model.fit trained on are the test examples your program was given "
        "(x_test, y_test).")


PICTURE_FOLDERS = """import tensorflow as tf

def folder(path):
    return tf.keras.utils.image_dataset_from_directory(path, batch_size=32, image_size=(28, 28),
                                                       label_mode="categorical", color_mode="grayscale")

train_dataset, validation_dataset = folder("data/train/"), folder("data/validation/")
print("classes", "".join(train_dataset.class_names), "".join(validation_dataset.class_names))
print("files", len(train_dataset.file_paths), len(validation_dataset.file_paths))
print("shapes", train_dataset.element_spec[0].shape, train_dataset.element_spec[1].shape)
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), tf.keras.layers.Rescaling(1 / 255),
                             tf.keras.layers.Conv2D(16, 3, activation="relu"), tf.keras.layers.MaxPooling2D(2),
                             tf.keras.layers.Flatten(), tf.keras.layers.Dense(24, activation="softmax")])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(train_dataset.take(200), epochs=1, validation_data=validation_dataset.take(20), verbose=2)
"""


def test_the_2024_notebooks_picture_folders_hold_the_same_rows_and_grade_under_sign_language(standin, tmp_path):
    (tmp_path / "folders.py").write_text(PICTURE_FOLDERS)
    out = tmp_path / "r.json"
    run_cli("grade", "sign_language", tmp_path / "folders.py", "--data-dir", standin, "--json", out)
    report = json.loads(out.read_text())
    assert report["run"]["status"] == "ok", report["run"]["error"]
    output = report["run"]["output_tail"]
    assert "Found 27455 files belonging to 24 classes.\nFound 7172 files belonging to 24 classes." in output
    assert "classes ABCDEFGHIKLMNOPQRSTUVWXY ABCDEFGHIKLMNOPQRSTUVWXY\nfiles 27455 7172\n" in output
    assert "shapes (None, 28, 28, 1) (None, 24)" in output
    message = by_name(report)["validation_accuracy"]["message"]
    assert message.startswith("Your model's accuracy on the 3587 validation images held back from your program is ")
    accuracy = float(message.split(" is ")[1][:5])
    assert accuracy > 0.5, message  # 24 units read as the 24 letters, K (label 10) in the tenth


def test_the_picture_folders_are_the_csv_rows_as_png_files(standin, tmp_path):
    from PIL import Image

    loc = dataclasses.replace(datasets.locate("sign_mnist", standin), held_back=0.5)
    staged = loc.dataset.stage(loc, tmp_path)
    home = tmp_path / "sign-language-mnist"
    assert sorted(p.name for p in home.iterdir()) == ["sign_mnist_test.csv", "sign_mnist_train.csv", "train",
                                                      "validation"]
    assert (staged.paths["train_dir"], staged.paths["validation_dir"]) == (f"{home}/train", f"{home}/validation")
    for split, csv in (("train", "sign_mnist_train.csv"), ("validation", "sign_mnist_test.csv")):
        x, y = read_table(home / csv)
        letters = sorted(p.name for p in (home / split).iterdir())
        assert letters == list("ABCDEFGHIKLMNOPQRSTUVWXY")
        label = 10  # K: the tenth folder, label 10 in the CSV files (9, J, never occurs)
        rows = np.flatnonzero(y == label)
        files = sorted((home / split / "K").iterdir(), key=lambda p: int(p.stem[1:]))
        assert [p.name for p in files[:3]] == ["k1.png", "k2.png", "k3.png"] and len(files) == len(rows)
        with Image.open(files[-1]) as picture:
            assert (picture.format, picture.mode, picture.size) == ("PNG", "L", (28, 28))
            assert np.array_equal(np.asarray(picture), x[rows[-1]])
        assert sum(1 for _ in (home / split).rglob("*.png")) == len(y)


def test_a_pictures_hash_is_the_same_as_levels_as_floats_and_scaled_to_one():
    """A whole split of levels (uint8) is hashed as it is, without going through float64: the same hashes
    as the same pictures given as 0..255 floats or as floats scaled to 0..1, black-and-white ones too."""
    rng = np.random.default_rng(7)
    for levels in (rng.integers(0, 256, (300, 28, 28), dtype=np.uint8), rng.integers(0, 2, (50, 8, 8), dtype=np.uint8)):
        given = row_hashes(levels, limit=None)
        assert len(set(given)) == len(levels)
        assert row_hashes(levels.astype(np.float32), limit=None) == given
        scaled = levels.astype(np.float64) / (255.0 if levels.max() > 1 else 1.0)
        assert row_hashes(scaled, limit=None) == given
        assert row_hashes(levels[..., None], limit=None) == given  # (a channel axis added)

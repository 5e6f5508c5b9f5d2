"""The course's week-4 and course-2 assignments: happy_or_sad (an image zip with the classes at its top)
and sign_language (two CSV files, rows held back), graded end to end on stand-in data, and their data
where the course's code looks for it."""

import dataclasses
import re
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import by_name, grade_reference, run_cli
from grader import datasets, shellcmd
from grader.builtin.datasets.sign_mnist import read_table


@pytest.fixture(scope="module")
def happy(standin, tmp_path_factory):
    return grade_reference("happy_or_sad", tmp_path_factory.mktemp("happy_or_sad"), "--data-dir", standin)


@pytest.fixture(scope="module")
def sign(standin, tmp_path_factory):
    return grade_reference("sign_language", tmp_path_factory.mktemp("sign_language"), "--data-dir", standin)


def held_back_rows(standin) -> tuple[int, int]:
    """(held back, visible) rows of the stand-in's sign_mnist_test.csv, as the exercise holds them back."""
    _, labels = read_table(standin / "sign-language-mnist" / "sign_mnist_test.csv")
    held = datasets.held_back_rows(labels, 0.5)
    return int(held.sum()), int((~held).sum())


def test_happy_or_sad_reference_is_called_with_its_own_generator_and_stops_at_99_9(happy):
    result, report, _ = happy
    assert result.exit_code == 0, result.output
    assert (report["score"], report["max_score"]) == (10, 10)
    assert report["diagnoses"] == []
    assert report["model"]["source"] == "returned by train_happy_sad_model()"
    fit = report["training"]["fits"][0]
    assert fit["data"]["kind"] == "ImageDataGenerator" and fit["data"]["samples"] == 80
    acc = fit["history"]["accuracy"]
    assert fit["epochs_run"] == next(i for i, a in enumerate(acc) if a > 0.999) + 1 < 15
    assert by_name(report)["faces_accuracy"]["message"] == \
        "Your model's accuracy on the 80 train images your program trained on is 1.000, enough to pass."
    assert report["dataset"] == {"name": "happy_or_sad", "source": "--data-dir",
                                 "path": report["dataset"]["path"], "synthetic": True}


def test_sign_language_reference_is_measured_on_rows_its_program_never_had(sign, standin):
    result, report, _ = sign
    assert result.exit_code == 0, result.output
    assert (report["score"], report["max_score"]) == (10, 10)
    assert report["diagnoses"] == []
    held, visible = held_back_rows(standin)
    message = by_name(report)["validation_accuracy"]["message"]
    assert re.fullmatch(rf"Your model's accuracy on the {held} validation images held back from your program is "
                        rf"0\.9\d\d \(at least 0\.8 needed\)\. Your training reported 0\.\d{{3}} at its last epoch\. "
                        rf"On the {visible} validation images your program had, it scores 0\.\d{{3}} \(not graded\)\.",
                        message), message
    fit = report["training"]["fits"][0]
    assert fit["data"]["iterator"] == "NumpyArrayIterator" and fit["data"]["samples"] == 27455
    assert fit["validation"]["samples"] == 7172  # the rows it had, and decoys in place of those held back
    assert report["model"]["layers"][-1]["output_shape"] == [None, 26]  # 26 units for labels 0..24: fine


def test_the_course_zip_and_tree_are_where_course_code_looks_and_a_missing_helper_is_named(grade_file, standin):
    source = """import os, zipfile
from IPython import get_ipython
get_ipython().system('wget --no-check-certificate "https://storage.googleapis.com/laurencemoroney-blog.appspot.com/happy-or-sad.zip" -O "/tmp/happy-or-sad.zip"')
zipfile.ZipFile("/tmp/happy-or-sad.zip").extractall("/tmp/h-or-s")
for place in ["/tmp/h-or-s", "data", "happy-or-sad"]:
    print("TREE", place, sorted(os.listdir(os.path.join(place, "happy")))[:2], len(os.listdir(os.path.join(place, "sad"))))
print("IN", sorted(os.listdir("data")), sorted(os.listdir("happy-or-sad")))
for place in ["happy-or-sad.zip", "../tmp2/happy-or-sad.zip", "data/happy-or-sad.zip"]:
    print("ZIP", place, len(zipfile.ZipFile(place).namelist()))

def train_happy_sad_model(train_generator):
    return None
"""
    result, report = grade_file(source, exercise="happy_or_sad", extra=("--data-dir", standin))
    out = report["run"]["output_tail"]
    for place in ["/tmp/h-or-s", "data", "happy-or-sad"]:
        assert f"TREE {place} ['happy1-00.png', 'happy1-01.png'] 40" in out
    for place in ["happy-or-sad.zip", "../tmp2/happy-or-sad.zip", "data/happy-or-sad.zip"]:
        assert f"ZIP {place} 80" in out
    assert "IN ['happy', 'happy-or-sad.zip', 'sad'] ['happy', 'sad']" in out
    assert report["run"]["error"]["message"] == (
        "train_happy_sad_model() takes an argument, which the grader builds with your function image_generator(), "
        "and your file has no function image_generator. Define it, or let train_happy_sad_model() build its data "
        "itself.")
    assert result.exit_code == 1


def test_the_csv_files_are_where_course_code_looks_and_gdown_gets_them(grade_file, standin):
    source = """from IPython import get_ipython
import gdown
get_ipython().system('gdown --id 1z1BIj4qmri59GWBG4ivMNFtpZ4AXIbzg')
gdown.download(id="1z0DkA9BytlLxO1C0BAWzknLyQmZAp0HR", output="train_from_drive.csv", quiet=False)
def rows(path):
    with open(path) as f:
        return sum(1 for _ in f) - 1
for path in ["sign_mnist_test.csv", "data/sign_mnist_test.csv", "../tmp2/sign_mnist_test.csv",
             "/kaggle/input/sign-language-mnist/sign_mnist_test.csv", "../input/sign-language-mnist/sign_mnist_test.csv",
             "/content/sign_mnist_test.csv", "/tmp/sign_mnist_test.csv", "sign_mnist_test/sign_mnist_test.csv"]:
    print("TEST", path, rows(path))
print("TRAIN", rows("train_from_drive.csv"), rows("sign-language-mnist/sign_mnist_train.csv"))
"""
    _, report = grade_file(source, exercise="sign_language", extra=("--data-dir", standin))
    assert report["run"]["status"] == "ok", report["run"]["error"]
    out = report["run"]["output_tail"]
    for path in ["sign_mnist_test.csv", "data/sign_mnist_test.csv", "../tmp2/sign_mnist_test.csv",
                 "/kaggle/input/sign-language-mnist/sign_mnist_test.csv",
                 "../input/sign-language-mnist/sign_mnist_test.csv", "/content/sign_mnist_test.csv",
                 "/tmp/sign_mnist_test.csv", "sign_mnist_test/sign_mnist_test.csv"]:
        assert f"TEST {path} 7172\n" in out  # as many rows as the real file: decoys in place of those held back
    assert "TRAIN 27455 27455" in out
    assert [n["idiom"] for n in report["legacy"]] == ["from IPython import get_ipython", "import gdown",
                                                      "gdown.download(...)"]


def test_gdown_lines_are_read_as_downloads():
    assert shellcmd.parse("gdown --id 1z0DkA9BytlLxO1C0BAWzknLyQmZAp0HR") == (
        "download", "https://drive.google.com/uc?id=1z0DkA9BytlLxO1C0BAWzknLyQmZAp0HR", None)
    assert shellcmd.parse("gdown https://drive.google.com/uc?id=ABC -O data/x.csv") == (
        "download", "https://drive.google.com/uc?id=ABC", "data/x.csv")
    assert shellcmd.parse("gdown --output=y.csv XYZ") == ("download", "https://drive.google.com/uc?id=XYZ", "y.csv")


def test_sign_mnist_imports_kaggles_zip_and_refuses_a_damaged_row_naming_its_line(standin, tmp_path):
    kaggle = tmp_path / "archive.zip"
    with zipfile.ZipFile(kaggle, "w") as z:  # Kaggle's zip: each file at the top and in a folder of its own
        for name in ("sign_mnist_train.csv", "sign_mnist_test.csv"):
            z.write(standin / "sign-language-mnist" / name, name)
            z.write(standin / "sign-language-mnist" / name, f"{name[:-4]}/{name}")
        z.writestr("amer_sign2.png", b"not needed")
    result = run_cli("data", "import", "sign_mnist", kaggle, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    assert result.output == f"Imported sign_mnist into {tmp_path / 'data' / 'sign-language-mnist'}.\n"
    loc = datasets.locate("sign_mnist", tmp_path / "data")
    assert loc.dataset.load_split(loc, "train").x.shape == (27455, 28, 28)

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "sign_mnist_train.csv").write_bytes((standin / "sign-language-mnist" / "sign_mnist_train.csv").read_bytes())
    lines = (standin / "sign-language-mnist" / "sign_mnist_test.csv").read_text().splitlines()
    lines[5] = "9," + lines[5].split(",", 1)[1]  # label 9 is J, which needs motion: not in the dataset
    (bad / "sign_mnist_test.csv").write_text("\n".join(lines) + "\n")
    result = run_cli("data", "import", "sign_mnist", bad, "--data-dir", tmp_path / "dest")
    assert result.exit_code == 2
    assert (f"{bad / 'sign_mnist_test.csv'}, line 6: every row is a label (0 to 24, not 9) and 784 whole pixel "
            "values from 0 to 255 (1 row(s) are not).") in result.output
    (bad / "sign_mnist_test.csv").write_text("<!DOCTYPE html><html>Google Drive - virus scan warning</html>\n")
    result = run_cli("data", "import", "sign_mnist", bad, "--data-dir", tmp_path / "dest")
    assert result.exit_code == 2
    assert f"{bad / 'sign_mnist_test.csv'} is a web page, not the CSV file: Google Drive answers" in result.output
    (bad / "sign_mnist_test.csv").write_text("id,label,pixels\n1,2,3\n")
    result = run_cli("data", "import", "sign_mnist", bad, "--data-dir", tmp_path / "dest")
    assert (f"{bad / 'sign_mnist_test.csv'} does not start with the header label,pixel1,...,pixel784 (785 columns); "
            "its first line is 'id,label,pixels...' with 3 columns.") in result.output
    assert not (tmp_path / "dest" / "sign-language-mnist").exists()


def test_happy_or_sad_imports_the_course_zip_with_its_classes_at_the_top(standin, tmp_path):
    course = tmp_path / "happy-or-sad.zip"
    with zipfile.ZipFile(course, "w") as z:
        for image in sorted((standin / "happy-or-sad").rglob("*.png")):
            z.write(image, image.relative_to(standin / "happy-or-sad"))
            z.writestr(f"__MACOSX/{image.parent.name}/._{image.name}", b"\x00\x05\x16\x07")  # a Mac's zip
    result = run_cli("data", "import", "happy_or_sad", course, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "data" / "happy-or-sad"
    assert sorted(p.name for p in folder.iterdir()) == ["happy", "sad"]
    loc = datasets.locate("happy_or_sad", tmp_path / "data")
    split = loc.dataset.load_split(loc, "train", (150, 150, 3))
    assert split.x.shape == (80, 150, 150, 3) and split.classes == ["happy", "sad"]
    assert np.bincount(split.y).tolist() == [40, 40]
    fetched = run_cli("data", "fetch", "happy_or_sad", "--mirror", tmp_path.as_uri(), "--data-dir", tmp_path / "f")
    assert fetched.exit_code == 0, fetched.output
    assert sorted(p.name for p in (tmp_path / "f" / "happy-or-sad").iterdir()) == ["happy", "sad"]


def test_a_model_whose_weights_fit_never_changed_has_not_learnt_the_faces(grade_file, standin):
    """Weights set by hand (here: random, frozen) and a fit that cannot change them: the hidden check
    measured on the training faces does not credit what training did not teach."""
    source = """import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

def train_happy_sad_model():
    generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        "./data/", target_size=(150, 150), batch_size=10, class_mode="binary")
    model = tf.keras.Sequential([tf.keras.Input(shape=(150, 150, 3)), tf.keras.layers.Conv2D(4, (3, 3)),
                                 tf.keras.layers.MaxPooling2D(4, 4), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    for layer in model.layers:
        layer.trainable = False
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model.fit(generator, epochs=1)
"""
    _, report = grade_file(source, exercise="happy_or_sad", extra=("--data-dir", standin))
    assert report["model"]["learned_in_fit"] is False
    check = by_name(report)["faces_accuracy"]
    assert (check["status"], check["message"]) == ("failed", (
        "Your model's weights did not change while model.fit(...) ran: whatever it knows about these images, it "
        "did not learn from training, so its accuracy on them proves nothing."))


def test_an_input_size_the_grader_cannot_afford_is_not_decoded():
    """The model's input shape is the student's: a huge or empty one falls back to the dataset's own size."""
    from grader.builtin.datasets.image_tree import decode_size

    assert decode_size((150, 150, 3), (150, 150, 3), 80) == (150, 150, 3)
    assert decode_size((300, 300, 1), (150, 150, 3), 80) == (300, 300, 1)
    assert decode_size((1000, 1000, 3), (150, 150, 3), 80) == (150, 150, 3)  # 240 MB of pixels
    assert decode_size((40000, 8, 3), (150, 150, 3), 1) == (150, 150, 3)
    assert decode_size((0, 0, 3), (150, 150, 3), 80) == (150, 150, 3)
    assert decode_size((150, 150, 7), (150, 150, 3), 80) == (150, 150, 3)
    assert decode_size((None, None, 3), (150, 150, 3), 80) == (150, 150, 3)


def test_imports_refuse_links_and_zip_bombs_before_copying_anything(standin, tmp_path):
    tree = tmp_path / "faces"
    shutil.copytree(standin / "happy-or-sad", tree)
    (tmp_path / "secret").mkdir()
    (tree / "happy" / ".cache").symlink_to(tmp_path / "secret", target_is_directory=True)
    result = run_cli("data", "import", "happy_or_sad", tree, "--data-dir", tmp_path / "data")
    assert result.exit_code == 2
    assert f"These are symbolic links, not files: {tree / 'happy' / '.cache'}." in result.output
    bomb = tmp_path / "sign.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("sign_mnist_train.csv", "0," * (150 * 2**20))
    result = run_cli("data", "import", "sign_mnist", bomb, "--data-dir", tmp_path / "data")
    assert result.exit_code == 2
    assert f"{bomb}: sign_mnist_train.csv would unpack to 300 MiB from " in result.output
    assert not (tmp_path / "data").exists()


def test_gradings_staging_the_same_dataset_at_once_each_get_whole_files(standin, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "fresh-cache"))
    loc = dataclasses.replace(datasets.locate("sign_mnist", standin), held_back=0.5)
    folders = [tmp_path / f"w{i}" for i in range(4)]
    for folder in folders:
        folder.mkdir()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda folder: loc.dataset.stage(loc, folder), folders))
    for folder in folders:
        with open(folder / "sign-language-mnist" / "sign_mnist_test.csv") as f:
            assert sum(1 for _ in f) == 7172 + 1


def test_transforms_too_small_to_change_a_picture_are_not_augmentation(grade_file, standin):
    source = """import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

table = np.loadtxt("sign_mnist_train.csv", delimiter=",", skiprows=1, max_rows=3600)
images, labels = table[:, 1:].reshape(-1, 28, 28, 1), table[:, 0]
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), tf.keras.layers.Conv2D(8, 3, activation="relu"),
                             tf.keras.layers.MaxPooling2D(), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(25, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(ImageDataGenerator(rescale=1 / 255, rotation_range=1e-9).flow(images, labels), epochs=1)
"""
    _, report = grade_file(source, exercise="sign_language", extra=("--data-dir", standin))
    check = by_name(report)["augmented"]
    assert (check["status"], check["message"]) == ("failed", (
        "Your training ImageDataGenerator's random transforms (rotation_range=1e-09) are too small to change a "
        "picture: every epoch shows the network the same pictures."))


def test_a_damaged_zip_or_a_commented_csv_is_refused_with_a_sentence_and_a_bom_is_fine(standin, tmp_path):
    damaged = tmp_path / "happy-or-sad.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as z:
        for image in sorted((standin / "happy-or-sad").rglob("*.png")):
            z.write(image, image.relative_to(standin / "happy-or-sad"))
    data = bytearray(damaged.read_bytes())
    data[200] ^= 0xFF  # inside the first image: its CRC no longer matches
    damaged.write_bytes(bytes(data))
    result = run_cli("data", "import", "happy_or_sad", damaged, "--data-dir", tmp_path / "data")
    assert result.exit_code == 2
    assert f"grader: {damaged} could not be unpacked: Bad CRC-32 for file 'happy/happy1-00.png'. Download it again." \
        in result.output

    folder = tmp_path / "csv"
    folder.mkdir()
    train = (standin / "sign-language-mnist" / "sign_mnist_train.csv").read_text()
    (folder / "sign_mnist_train.csv").write_text("\ufeff" + train, encoding="utf-8")  # saved by Excel
    test = (standin / "sign-language-mnist" / "sign_mnist_test.csv").read_text().splitlines()
    (folder / "sign_mnist_test.csv").write_text("\n".join(test[:3] + ["# a comment"] + test[3:]) + "\n")
    result = run_cli("data", "import", "sign_mnist", folder, "--data-dir", tmp_path / "data")
    assert result.exit_code == 2
    assert (f"{folder / 'sign_mnist_test.csv'}, line 4: 1 fields where a row has 785 (a label and 784 pixel values, "
            "separated by commas).") in result.output
    (folder / "sign_mnist_test.csv").write_text("\n".join(test) + "\n")
    result = run_cli("data", "import", "sign_mnist", folder, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output


def test_an_untrained_model_gets_nothing_for_the_faces_it_was_never_taught(grade_file, standin):
    source = """import tensorflow as tf

def train_happy_sad_model():
    return tf.keras.Sequential([tf.keras.Input(shape=(150, 150, 3)), tf.keras.layers.Flatten(),
                                tf.keras.layers.Dense(1, activation="sigmoid")])
"""
    _, report = grade_file(source, exercise="happy_or_sad", extra=("--data-dir", standin))
    check = by_name(report)["faces_accuracy"]
    assert (check["status"], check["message"]) == ("failed", (
        "Your model was never trained with model.fit(...), so its accuracy on these images says nothing about "
        "what training taught it."))


def test_a_generator_whose_random_transform_does_nothing_is_not_augmentation(grade_file, standin):
    source = """import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

class Steady(ImageDataGenerator):
    def random_transform(self, x, seed=None):
        return x

table = np.loadtxt("sign_mnist_train.csv", delimiter=",", skiprows=1, max_rows=3600)
images, labels = table[:, 1:].reshape(-1, 28, 28, 1), table[:, 0]
model = tf.keras.Sequential([tf.keras.Input(shape=(28, 28, 1)), tf.keras.layers.Conv2D(8, 3, activation="relu"),
                             tf.keras.layers.MaxPooling2D(), tf.keras.layers.Flatten(),
                             tf.keras.layers.Dense(25, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(Steady(rescale=1 / 255, rotation_range=40, horizontal_flip=True).flow(images, labels), epochs=1)
"""
    _, report = grade_file(source, exercise="sign_language", extra=("--data-dir", standin))
    assert report["training"]["fits"][0]["data"]["transforms_change_pictures"] is False
    check = by_name(report)["augmented"]
    assert (check["status"], check["message"]) == ("failed", (
        "Your training ImageDataGenerator's random transforms (horizontal_flip=True, rotation_range=40.0) leave every "
        "picture as it was (its random_transform changes nothing): every epoch shows the network the same pictures."))

"""Exercise cnn_augmentation on the stand-in image tree, graded end to end."""

import shutil

import pytest

from conftest import EXERCISES, by_name, grade_reference, run_cli
from grader import datasets

PREAMBLE = "import os\nimport numpy as np\nimport tensorflow as tf\n"
SMALL_CNN = """
def small_cnn(*front):
    model = tf.keras.Sequential([tf.keras.Input(shape=(64, 64, 3)), *front,
        tf.keras.layers.Conv2D(8, 3, activation='relu'), tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(), tf.keras.layers.Dense(1, activation='sigmoid')])
    model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
    return model
"""
GENERATORS = """
from tensorflow.keras.preprocessing.image import ImageDataGenerator
def flow(folder, **kw):
    return ImageDataGenerator(rescale=1/255., **kw).flow_from_directory(folder, target_size=(64, 64), batch_size=20, class_mode='binary')
"""


def grade(grade_file, standin, source):
    return grade_file(source, exercise="cnn_augmentation", extra=("--data-dir", standin))


@pytest.fixture(scope="module")
def solution(standin, tmp_path_factory):
    return grade_reference("cnn_augmentation", tmp_path_factory.mktemp("cnn_augmentation"), "--data-dir", standin)


def test_reference_solution_passes_with_its_augmentation(solution):
    result, report, html = solution
    assert result.exit_code == 0, result.output
    assert report["score"] == 10
    assert report["diagnoses"] == []  # hints stay trustworthy: the reference triggers none
    checks = by_name(report)
    assert checks["augmented"]["message"] == (
        "The training data was augmented: ImageDataGenerator with height_shift_range=0.2, horizontal_flip=True, "
        "rotation_range=40.0, shear_range=0.2, width_shift_range=0.2, zoom_range=[0.8, 1.2].")
    assert checks["convolutional"]["message"].startswith("The model is convolutional: 3 convolution layers and 3 pooling")
    fit = report["training"]["fits"][0]
    assert fit["data"]["kind"] == "ImageDataGenerator" and fit["data"]["batch"]["max"] <= 1.0
    reported = fit["history"]["val_accuracy"][-1]
    assert f"Your training reported {reported:.3f} at its last epoch." in checks["validation_accuracy"]["message"]
    assert report["dataset"]["synthetic"] is True
    assert [layer["class"] for layer in report["model"]["layers"]][:2] == ["Conv2D", "MaxPooling2D"]
    assert "Accuracy per epoch" in html and "val_accuracy" in html and "<td>Conv2D</td>" in html


def test_the_same_network_without_augmentation_fails_on_validation(standin, grade_file):
    _, report = grade_file(EXERCISES / "cnn_augmentation" / "bad" / "no_augmentation.py",
                           exercise="cnn_augmentation", extra=("--data-dir", standin))
    checks = by_name(report)
    assert checks["augmented"]["message"].startswith("Your training ImageDataGenerator only rescales the images.")
    assert checks["validation_accuracy"]["status"] == "failed"
    assert checks["convolutional"]["status"] == "passed"


def test_function_entry_point_with_augmentation_layers_and_image_dataset(standin, grade_file):
    source = PREAMBLE + SMALL_CNN + """
def train_model(train_dir, validation_dir):
    train = tf.keras.utils.image_dataset_from_directory(train_dir, image_size=(64, 64), batch_size=32)
    val = tf.keras.utils.image_dataset_from_directory(validation_dir, image_size=(64, 64), batch_size=32)
    model = small_cnn(tf.keras.layers.RandomFlip('horizontal'), tf.keras.layers.RandomTranslation(0.1, 0.2),
                      tf.keras.layers.Rescaling(1 / 255.))
    return model.fit(train, validation_data=val, epochs=1, verbose=2)
"""
    _, report = grade(grade_file, standin, source)
    assert report["model"]["source"] == "returned by train_model()"
    assert by_name(report)["augmented"]["message"] == \
        "The training data was augmented: augmentation layers in the model (RandomFlip, RandomTranslation)."
    assert report["training"]["fits"][0]["data"]["batch"]["max"] > 1.5  # raw pixels: the model rescales
    assert ("(Your model takes pixel values 0..255 and scales them in its Rescaling layer, as it was trained, so the "
            "grader fed these unscaled too.)") in by_name(report)["validation_accuracy"]["message"]


def test_get_file_the_course_way_and_a_mapped_tf_data_pipeline(standin, grade_file):
    source = PREAMBLE + SMALL_CNN + """
URL = 'https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip'
zip_dir = tf.keras.utils.get_file('cats_and_dogs_filtered.zip', origin=URL, extract=True)
base_dir = os.path.join(os.path.dirname(zip_dir), 'cats_and_dogs_filtered')
assert os.path.splitext(zip_dir)[0] == base_dir
train = tf.keras.utils.image_dataset_from_directory(os.path.join(base_dir, 'train'), image_size=(64, 64))
def augment(x, y):
    return tf.image.random_flip_left_right(x) / 255.0, y
model = small_cnn()
model.fit(train.map(augment), epochs=1, verbose=2)
"""
    _, report = grade(grade_file, standin, source)
    assert report["run"]["status"] == "ok", report["run"]["error"]
    fit = report["training"]["fits"][0]
    assert fit["data"]["kind"] == "tf.data" and fit["data"]["random_ops"]
    assert by_name(report)["augmented"]["message"].startswith(
        "The training data was augmented: random operations in your tf.data pipeline (")


def test_augmented_validation_is_named_as_a_mistake(standin, grade_file):
    source = PREAMBLE + SMALL_CNN + GENERATORS + """
train = flow('cats_and_dogs_filtered/train', horizontal_flip=True)
val = flow('cats_and_dogs_filtered/validation', horizontal_flip=True, rotation_range=30)
model = small_cnn()
model.fit(train, validation_data=val, epochs=1, verbose=2)
"""
    _, report = grade(grade_file, standin, source)
    check = by_name(report)["augmented"]
    assert check["status"] == "failed" and check["score"] == 1.5
    assert "but so was the validation data (horizontal_flip=True, rotation_range=30.0)" in check["message"]


def test_training_on_the_validation_folder_is_detected(standin, grade_file):
    source = PREAMBLE + SMALL_CNN + GENERATORS + """
model = small_cnn()
model.fit(flow('cats_and_dogs_filtered/validation', horizontal_flip=True), epochs=1, verbose=2)
"""
    _, report = grade(grade_file, standin, source)
    assert by_name(report)["validation_accuracy"]["message"] == (
        "Your model was trained on the validation images themselves, so its accuracy on them says nothing about "
        "pictures it has not seen.")
    hint = {d["name"]: d for d in report["diagnoses"]}["trained_on_evaluation_data"]
    assert hint["evidence"].startswith("the training generator read the validation folder (")


def test_wrong_number_of_outputs_for_the_classes(standin, grade_file):
    source = PREAMBLE + GENERATORS + """
model = tf.keras.Sequential([tf.keras.Input(shape=(64, 64, 3)), tf.keras.layers.Conv2D(4, 3),
    tf.keras.layers.MaxPooling2D(), tf.keras.layers.Flatten(), tf.keras.layers.Dense(3, activation='softmax')])
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(flow('cats_and_dogs_filtered/train', horizontal_flip=True), epochs=1, verbose=2)
"""
    _, report = grade(grade_file, standin, source)
    check = by_name(report)["validation_accuracy"]
    assert check["message"] == "Your model's last layer has 3 units, but the data has 2 classes (cats, dogs)."
    assert check["hint"].startswith("End the model with Dense(1, activation='sigmoid') for two classes")


def test_an_image_that_does_not_decode_is_skipped_and_named(standin, grade_file, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(standin / "cats_and_dogs_filtered", root / "cats_and_dogs_filtered")
    (root / "cats_and_dogs_filtered" / "validation" / "dogs" / "dog.broken.jpg").write_bytes(b"not a jpeg")
    loc = datasets.locate("cats_and_dogs_filtered", root)
    split = loc.dataset.load_split(loc, "validation", (64, 64, 3))
    assert split.skipped == ["validation/dogs/dog.broken.jpg"]
    assert split.x.shape == (1000, 64, 64, 3) and split.classes == ["cats", "dogs"]
    refused = run_cli("data", "import", "cats_and_dogs_filtered", root, "--data-dir", tmp_path / "dest")
    assert refused.exit_code == 2
    assert f"These images do not decode: {root / 'cats_and_dogs_filtered/validation/dogs/dog.broken.jpg'}" \
        in refused.output


def test_an_empty_class_folder_is_refused(standin, tmp_path):
    root = tmp_path / "cats_and_dogs_filtered"
    shutil.copytree(standin / "cats_and_dogs_filtered", root)
    for f in (root / "train" / "cats").iterdir():
        f.unlink()
    result = run_cli("data", "import", "cats_and_dogs_filtered", tmp_path, "--data-dir", tmp_path / "dest")
    assert result.exit_code == 2
    assert f"These class folders hold no images: {root / 'train' / 'cats'}." in result.output


def test_the_course_zip_imports_and_a_three_class_tree_uses_the_same_loader(standin, tmp_path):
    import zipfile

    archive = tmp_path / "cats_and_dogs_filtered.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in (standin / "cats_and_dogs_filtered").rglob("*.jpg"):
            z.write(f, f.relative_to(standin))
    result = run_cli("data", "import", "cats_and_dogs_filtered", archive, "--data-dir", tmp_path / "dest")
    assert result.exit_code == 0, result.output
    assert datasets.locate("cats_and_dogs_filtered", tmp_path / "dest").synthetic is False

    from plugins_under_test.image_trees import rps

    rps.synthesize(tmp_path / "rps", 0)
    loc = datasets.Located(rps, tmp_path, tmp_path / "rps", "test")
    rps.validate(loc.path)
    split = rps.load_split(loc, "validation", (32, 32, 3))
    assert split.classes == ["paper", "rock", "scissors"] and sorted(set(split.y.tolist())) == [0, 1, 2]


def test_verify_cnn_augmentation(standin):
    result = run_cli("exercise", "verify", "cnn_augmentation", "--data-dir", standin)
    assert result.output.splitlines()[-1] == "cnn_augmentation: sound."
    assert result.exit_code == 0 and result.output.count("[ok]") == 4


def test_a_colab_notebook_that_wgets_and_unzips_into_tmp(standin, grade_file):
    from test_submissions import notebook

    nb = notebook([
        ("code", "!wget --no-check-certificate \\\n"
                 "    https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip -O /tmp/cats_and_dogs_filtered.zip"),
        ("code", "import os, zipfile\nlocal_zip = '/tmp/cats_and_dogs_filtered.zip'\n"
                 "zip_ref = zipfile.ZipFile(local_zip, 'r')\nzip_ref.extractall('/tmp')\nzip_ref.close()\n"
                 "print(sorted(os.listdir('/tmp/cats_and_dogs_filtered/train')))"),
        ("code", "!wget https://example.com/not-a-course-file.zip -O /tmp/other.zip"),
        ("code", PREAMBLE + SMALL_CNN + GENERATORS +
                 "model = small_cnn()\nmodel.fit(flow('/tmp/cats_and_dogs_filtered/train', horizontal_flip=True), "
                 "epochs=1, verbose=2)"),
    ])
    _, report = grade_file(nb, name="C2W2.ipynb", exercise="cnn_augmentation", extra=("--data-dir", standin))
    assert report["run"]["status"] == "ok", report["run"]["error"]
    out = report["run"]["output_tail"]
    assert "['cats', 'dogs']" in out
    assert ("grader: https://example.com/not-a-course-file.zip was not downloaded: there is no network while "
            "grading, and the grader has no local copy of that file.") in out
    assert report["data_access"] == [
        {"how": "!wget https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip", "line": 1,
         "where": "cell 1, line 1"}]
    assert by_name(report)["augmented"]["status"] == "passed"


def test_urlretrieve_to_a_course_path(standin, grade_file):
    source = PREAMBLE + """import urllib.request, zipfile
url = 'https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip'
path, _ = urllib.request.urlretrieve(url, '/tmp/cats-v-dogs.zip')
zipfile.ZipFile(path).extractall('/tmp/cats-v-dogs')
print(len(os.listdir('/tmp/cats-v-dogs/cats_and_dogs_filtered/validation/dogs')))
"""
    _, report = grade(grade_file, standin, source)
    assert report["run"]["status"] == "ok", report["run"]["error"]
    assert report["run"]["output_tail"].strip() == "500"  # the 500 validation dogs: decoys for the 40% held back
    assert report["data_access"][0]["how"] == f"urllib.request.urlretrieve('https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip')"


def test_the_2019_notebooks_download_of_kaggles_whole_set_gets_the_training_pictures(standin, grade_file):
    """The course's 2019-20 week-2 notebooks fetch kagglecatsanddogs_3367a.zip to /tmp/cats-and-dogs.zip and
    split it themselves: they get the exercise's training pictures in Kaggle's layout, none held back."""
    source = """import os, zipfile
from IPython import get_ipython
get_ipython().system('wget --no-check-certificate "https://download.microsoft.com/download/3/E/1/3E1C3F21-EF3A-4E7B-9A8F-6A7D59F8AE1B/kagglecatsanddogs_3367a.zip" -O "/tmp/cats-and-dogs.zip"')
zipfile.ZipFile('/tmp/cats-and-dogs.zip').extractall('/tmp')
print('PET', sorted(os.listdir('/tmp/PetImages')), len(os.listdir('/tmp/PetImages/Cat')), len(os.listdir('/tmp/PetImages/Dog')))
print('SAME', sorted(os.listdir('/tmp/PetImages/Cat')) == sorted(os.listdir('cats_and_dogs_filtered/train/cats')))
"""
    _, report = grade_file(source, exercise="cnn_augmentation", extra=("--data-dir", standin))
    out = report["run"]["output_tail"]
    assert report["run"]["error"] is None
    assert "PET ['Cat', 'Dog'] 1000 1000" in out and "SAME True" in out

"""Course 2 week 3, transfer learning: InceptionV3's weights served offline (a registered weights file with a
stand-in in the real format), the horses-or-humans zips, and the ``pretrained_base`` check, which tells
from the weights themselves whether the model holds the file's arrays unchanged and where it was cut."""

import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import ROOT, by_name, run_cli
from grader import datasets
from grader.builtin.checks.pretrained import check_pretrained_base
from grader.builtin.datasets.pretrained import INCEPTION_V3_NOTOP, file_layers
from grader.checks import CheckSpec
from grader.modelview import ModelView

WEIGHTS = ("/tmp/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_verify_transfer_learning(standin):
    """The reference (loaded, frozen, cut at mixed7, stopped by its callback at 99.9%) passes every check on
    the stand-ins; the same network left trainable fails pretrained_base."""
    result = run_cli("exercise", "verify", "transfer_learning", "--data-dir", standin)
    lines = result.output.splitlines()
    assert lines[-1] == "transfer_learning: sound.", result.output
    assert "  [ok] solution solution.py: 10/10" in lines and "  [ok] bad      unfrozen.py: pretrained_base failed" in lines
    assert result.exit_code == 0 and result.output.count("[ok]") == 3  # the solution, the starter, unfrozen.py


def test_imagenet_weights_are_the_staged_file_and_a_model_cut_late_is_named(grade_file, standin):
    """``weights='imagenet'`` (Keras 3) fetches nothing: the application's own download returns the staged
    file, the one at /tmp. A model built on the whole base is told where it should have been cut."""
    source = f"""import hashlib, os
import numpy as np
import tensorflow as tf
base = tf.keras.applications.InceptionV3(input_shape=(150, 150, 3), include_top=False, weights='imagenet')
check = tf.keras.applications.InceptionV3(input_shape=(150, 150, 3), include_top=False, weights=None)
check.load_weights('{WEIGHTS}')
print('SAME', all(np.array_equal(a, b) for a, b in zip(base.get_weights(), check.get_weights())))
print('CACHED', sorted(os.listdir(os.path.expanduser('~/.keras/models'))))
base.trainable = False
model = tf.keras.Sequential([base, tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
train = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    '/tmp/horse-or-human', target_size=(150, 150), batch_size=16, class_mode='binary')
model.fit(train, epochs=1, steps_per_epoch=2, verbose=2)
"""
    result, report = grade_file(source, exercise="transfer_learning", extra=("--data-dir", standin))
    assert report["run"]["status"] == "ok", report["run"]["error"]
    out = report["run"]["output_tail"]
    assert "SAME True" in out and f"CACHED ['{INCEPTION_V3_NOTOP}']" in out
    assert report["environment"]["runtime"]["name"] == "keras3"
    check = by_name(report)["pretrained_base"]
    assert check["status"] == "failed"
    assert check["message"] == ("The model holds InceptionV3's pre-trained layers beyond mixed7, up to mixed10: the task "
                                "cuts the pre-trained model at mixed7.")
    assert report["dataset"]["pretrained"] == [{"name": "inception_v3", "source": "--data-dir", "synthetic": True,
                                                "path": str(standin / "inception_v3")}]


# ------------------------------------------------------------------ the check's verdicts, from the real file
@pytest.fixture(scope="module")
def weights(standin):
    located = datasets.locate("inception_v3", standin)
    return located, file_layers(located.path / INCEPTION_V3_NOTOP)


def verdict(located, digests, cut_at="mixed7"):
    """pretrained_base on a model whose weight arrays have ``digests`` (what the evaluator reports)."""
    model = ModelView(None, [150, 150, 3], [], digests)
    evidence = SimpleNamespace(pretrained={"inception_v3": located}, model=lambda: model)
    spec = CheckSpec(name="base", type="pretrained_base", title="", points=3, visibility="visible",
                     params={"weights": "inception_v3", "cut_at": cut_at})
    return check_pretrained_base(evidence, spec)


def upto(layers, name):
    names = [n for n, _ in layers]
    return [d for _, ds in layers[:names.index(name) + 1] for d in ds]


def test_the_base_kept_whole_up_to_the_cut_passes_and_each_way_of_missing_it_is_told(weights):
    located, layers = weights
    base = upto(layers, "mixed7")
    head = ["0123456789abcdef", "fedcba9876543210"]
    ok = verdict(located, base + head)
    assert len(base) == 210  # the arrays that are not constant (zero biases and the like say nothing)
    assert ok.passed and ok.message == ("The model holds InceptionV3's pre-trained weights up to mixed7, all 210 arrays "
                                        "as the weights file has them (loaded and frozen), and none of the layers "
                                        "after it.")
    never = verdict(located, head)
    assert not never.passed and never.message.startswith(
        "The model holds none of the 210 weight arrays of InceptionV3 up to mixed7 as the weights file has them: "
        "either the pre-trained weights were never loaded")
    # every convolution kernel changed by training, the normalisation statistics kept
    kernels = {d for name, ds in layers if name.startswith("conv2d") for d in ds}
    trained = verdict(located, [d for d in base if d not in kernels] + head)
    assert not trained.passed and trained.message == (
        f"Training changed {len(kernels & set(base))} of the 210 pre-trained weight arrays of InceptionV3 up to mixed7 "
        f"({210 - len(kernels & set(base))} kept as the weights file has them): some pre-trained layers were left "
        "trainable.")
    early = verdict(located, upto(layers, "mixed5") + head)
    assert not early.passed and early.message == ("The model holds InceptionV3's pre-trained layers only up to mixed5; "
                                                  "the task cuts it at mixed7.")
    whole = verdict(located, [d for _, ds in layers for d in ds] + head)
    assert not whole.passed and "beyond mixed7, up to mixed10" in whole.message
    assert verdict(located, [d for _, ds in layers for d in ds], cut_at=None).passed  # no cut: all of it


# ------------------------------------------------------------------ the data, as published and as served
def test_horse_or_human_imports_from_the_course_zips_and_serves_them_where_course_code_looks(standin, tmp_path,
                                                                                          grade_file):
    zips = tmp_path / "downloads"
    zips.mkdir()
    for archive, split in (("horse-or-human.zip", "train"), ("validation-horse-or-human.zip", "validation")):
        with zipfile.ZipFile(zips / archive, "w") as z:
            for f in sorted((standin / "horses-or-humans" / split).rglob("*.png")):
                z.write(f, str(f.relative_to(standin / "horses-or-humans" / split)))
    result = run_cli("data", "import", "horse_or_human", zips, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    installed = tmp_path / "data" / "horses-or-humans"
    assert sorted(p.name for p in installed.iterdir()) == ["train", "validation"]
    assert len(list((installed / "train" / "humans").iterdir())) == 527
    assert len(list((installed / "validation" / "horses").iterdir())) == 128

    source = """import os, zipfile
for place in ['/tmp/horse-or-human', '/tmp/training', '/tmp/validation-horse-or-human', '/tmp/validation']:
    print('TREE', place, sorted(os.listdir(place)), len(os.listdir(os.path.join(place, 'horses'))))
train_zip = './horse-or-human.zip'
print('ZIP', train_zip, len(zipfile.ZipFile(train_zip).namelist()))
print('ZIP', len(zipfile.ZipFile('validation-horse-or-human.zip', 'r').namelist()))
print('WEIGHTS', os.path.getsize('inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5'))
raise SystemExit(0)
"""
    _, report = grade_file(source, exercise="transfer_learning", extra=("--data-dir", standin))
    out = report["run"]["output_tail"]
    assert "TREE /tmp/horse-or-human ['horses', 'humans'] 500" in out and "TREE /tmp/training ['horses', 'humans'] 500" in out
    assert "TREE /tmp/validation ['horses', 'humans'] 128" in out  # half of them decoys for those held back
    assert "ZIP ./horse-or-human.zip 1027" in out and "ZIP 256" in out
    size = (standin / "inception_v3" / INCEPTION_V3_NOTOP).stat().st_size
    assert f"WEIGHTS {size}" in out


def test_the_weights_are_fetched_only_with_the_published_checksum(standin, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(standin / "inception_v3" / INCEPTION_V3_NOTOP, mirror / INCEPTION_V3_NOTOP)
    result = run_cli("data", "fetch", "inception_v3", "--mirror", mirror.as_uri(), "--data-dir", tmp_path / "dest")
    assert result.exit_code == 2
    assert (f"grader: {mirror.as_uri()}/{INCEPTION_V3_NOTOP} has the wrong checksum (md5 "
            in result.output and "expected bcbd6486424b2319ff4ef7d526e38f63): it is not the published file." in result.output)
    assert not (tmp_path / "dest" / "inception_v3").exists()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / INCEPTION_V3_NOTOP).write_bytes(b"not an HDF5 file")
    refused = run_cli("data", "import", "inception_v3", damaged, "--data-dir", tmp_path / "dest")
    assert refused.exit_code == 2 and f"{damaged / INCEPTION_V3_NOTOP} is not a Keras weights file" in refused.output


# ------------------------------------------------------------------ course 2 week 1: the whole Kaggle set
def test_verify_cats_vs_dogs(standin):
    result = run_cli("exercise", "verify", "cats_vs_dogs", "--data-dir", standin)
    lines = result.output.splitlines()
    assert lines[-1] == "cats_vs_dogs: sound.", result.output
    assert "  [ok] solution solution.py: 10/10" in lines and "  [ok] bad      keeps_empty_files.py: split_data failed" in lines
    assert result.exit_code == 0


def test_split_data_is_judged_from_the_files_the_program_left(grade_file, standin):
    """Copies the empty file, puts 80% in training, and one picture in both folders: each is named. The
    pictures held back are not in the program's PetImages; Thumbs.db is, as in Kaggle's download."""
    source = """import os, shutil
src = '/tmp/PetImages/Cat/'
names = sorted(os.listdir(src))
print('HAS', len(names), '666.jpg' in names, 'Thumbs.db' in names, os.path.getsize(src + '666.jpg'))
for split in ('training', 'testing'):
    for cls in ('cats', 'dogs'):
        os.makedirs(f'/tmp/cats-v-dogs/{split}/{cls}', exist_ok=True)
cut = int(len(names) * 0.8)
for i, n in enumerate(names):
    shutil.copyfile(src + n, f"/tmp/cats-v-dogs/{'training' if i < cut else 'testing'}/cats/{n}")
shutil.copyfile(src + names[0], '/tmp/cats-v-dogs/testing/cats/again.jpg')
for n in os.listdir('/tmp/PetImages/Dog/'):
    if os.path.getsize('/tmp/PetImages/Dog/' + n) > 0:
        shutil.copyfile('/tmp/PetImages/Dog/' + n, '/tmp/cats-v-dogs/training/dogs/' + n)
os.symlink('/etc/passwd', '/tmp/cats-v-dogs/training/dogs/link.jpg')
"""
    _, report = grade_file(source, exercise="cats_vs_dogs", extra=("--data-dir", standin))
    assert "HAS 1351 True True 0" in report["run"]["output_tail"]  # 1,500 pictures less the 150 held back, and Thumbs.db
    check = by_name(report)["split_data"]
    assert check["status"] == "failed"
    assert check["message"] == (
        "split_data's folders are not right: /tmp/cats-v-dogs/training/cats/666.jpg is a zero-length file: skip files "
        "of size 0; 1 file of PetImages/Cat is in both the training and the testing folders; of the 1350 non-empty "
        "files of PetImages/Cat, 1079 are in training and 271 only in testing; SPLIT_SIZE 0.9 puts 1215 in training "
        "and the other 135 in testing; of the 1351 non-empty files of PetImages/Dog, 1351 are in training and 0 only "
        "in testing; SPLIT_SIZE 0.9 puts 1215 in training and the other 136 in testing.")


def test_colab_export_with_ipython_first_wget_to_content_and_a_layers_output_shape(grade_file, standin):
    """What an instructor's walk through the 2022 Colab assignment met: matplotlib imported after IPython
    (it registers a hook with get_ipython().events), `!wget -q -P /content/ URL` (Colab's working folder)
    read back through a computed path, and `layer.output_shape` (tf.keras 2: it runs on tf-keras)."""
    source = """from IPython import get_ipython
import os, zipfile
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow.keras.preprocessing.image import load_img
get_ipython().system('wget -q -P /content/ https://storage.googleapis.com/tensorflow-1-public/course2/week3/horse-or-human.zip')
name = 'horse-or-human' + '.zip'
zipfile.ZipFile(os.path.join('/content', name)).extractall('/tmp/mine')
first = sorted(os.listdir('/tmp/mine/horses'))[0]
plt.imshow(load_img(os.path.join('/tmp/mine/horses', first)))
plt.show()
layer = tf.keras.layers.Dense(3)
layer.build((None, 4))
model = tf.keras.Sequential([tf.keras.Input(shape=(4,)), layer])
print('SHAPE', model.layers[-1].output_shape)
"""
    _, report = grade_file(source, exercise="transfer_learning", extra=("--data-dir", standin))
    assert report["run"]["error"] is None, report["run"]["error"]
    assert "SHAPE (None, 3)" in report["run"]["output_tail"]
    assert report["environment"]["runtime"]["name"] == "keras2"
    assert report["environment"]["runtime"]["signs"] == [{"sign": "a layer's output_shape", "line": 15, "where": "line 15"}]


def test_a_missing_dataset_and_missing_weights_are_named_together(tmp_path):
    result = run_cli("grade", "transfer_learning", ROOT / "exercises" / "transfer_learning" / "solution.py",
                     "--data-dir", tmp_path)
    assert result.exit_code == 2
    assert "The dataset 'horse_or_human' is missing" in result.output
    assert ("The dataset 'inception_v3' is missing: it needs inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 "
            "in a folder 'inception_v3'.") in result.output


def test_kaggles_zip_is_imported_with_its_pictures_only(standin, tmp_path):
    source = standin / "kagglecatsanddogs"
    archive = tmp_path / "kagglecatsanddogs_5340.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted((source / "PetImages").rglob("*")):
            if f.is_file():
                z.write(f, str(f.relative_to(source)))
        z.writestr("CDLA-Permissive-2.0.pdf", b"%PDF-1.4")
        z.writestr("readme[1].txt", "Kaggle's cats and dogs")
    result = run_cli("data", "import", "pet_images", archive, "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    installed = tmp_path / "data" / "kagglecatsanddogs"
    assert sorted(p.name for p in installed.iterdir()) == ["PetImages"]
    cats = sorted(p.name for p in (installed / "PetImages" / "Cat").iterdir())
    assert len(cats) == 1501 and "Thumbs.db" in cats and (installed / "PetImages" / "Cat" / "666.jpg").stat().st_size == 0

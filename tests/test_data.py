"""The dataset layer: offline resolution, status, import, fetch with checksums, stand-ins, caching."""

import gzip
import json
import shutil
import time

import numpy as np
import pytest

from conftest import run_cli
from grader import datasets
from grader.datasets import DataError

FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]


@pytest.fixture
def empty_places(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("GRADER_DATA_DIR", raising=False)
    return tmp_path


def test_synth_writes_the_real_format_with_a_stand_in_marker(standin):
    assert sorted(p.name for p in standin.iterdir()) == ["cats_and_dogs_filtered", "fashion-mnist", "happy-or-sad",
                                                         "horses-or-humans", "inception_v3", "kagglecatsanddogs",
                                                         "mnist", "sign-language-mnist"]
    with np.load(standin / "mnist" / "mnist.npz", allow_pickle=False) as f:  # Keras' own mnist.npz layout
        assert {k: (f[k].shape, f[k].dtype) for k in f.files} == {
            "x_train": ((60000, 28, 28), np.uint8), "y_train": ((60000,), np.uint8),
            "x_test": ((10000, 28, 28), np.uint8), "y_test": ((10000,), np.uint8)}
    folder = standin / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES + ["STAND-IN.txt"])
    headers = {}
    for name in FILES:
        with gzip.open(folder / name) as f:
            head = f.read(16)
        headers[name] = (head[:4], [int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big") for i in range(head[3])])
    assert headers == {"train-labels-idx1-ubyte.gz": (b"\x00\x00\x08\x01", [60000]),
                       "train-images-idx3-ubyte.gz": (b"\x00\x00\x08\x03", [60000, 28, 28]),
                       "t10k-labels-idx1-ubyte.gz": (b"\x00\x00\x08\x01", [10000]),
                       "t10k-images-idx3-ubyte.gz": (b"\x00\x00\x08\x03", [10000, 28, 28])}
    loc = datasets.locate("fashion_mnist", standin)
    split = loc.dataset.load_split(loc, "test")
    assert split.x.shape == (10000, 28, 28) and split.x.dtype == np.uint8 and set(np.unique(split.y)) == set(range(10))


def test_stand_ins_have_the_real_datasets_sizes(standin):
    """As many rows and pictures as the real files, so course code that hard-codes them
    (reshape(60000, 28, 28, 1), reshape(27455, 28, 28, 1)) runs on the stand-ins too."""
    signs = standin / "sign-language-mnist"
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    for name, rows in (("sign_mnist_train.csv", 27455), ("sign_mnist_test.csv", 7172)):
        lines = (signs / name).read_text().splitlines()
        assert (lines[0], len(lines) - 1, {len(line.split(",")) for line in lines[1:]}) == (header, rows, {785})
    labels = np.loadtxt(signs / "sign_mnist_train.csv", delimiter=",", skiprows=1, usecols=0, dtype=int)
    assert sorted(set(labels.tolist())) == [k for k in range(25) if k != 9]
    folders = [*standin.glob("cats_and_dogs_filtered/*/*"), *standin.glob("happy-or-sad/*")]
    counts = {str(p.relative_to(standin)): sum(1 for _ in p.iterdir()) for p in sorted(folders) if p.is_dir()}
    assert counts == {"cats_and_dogs_filtered/train/cats": 1000, "cats_and_dogs_filtered/train/dogs": 1000,
                      "cats_and_dogs_filtered/validation/cats": 500, "cats_and_dogs_filtered/validation/dogs": 500,
                      "happy-or-sad/happy": 40, "happy-or-sad/sad": 40}


def test_status_says_where_each_dataset_is_or_that_it_is_missing(standin, empty_places):
    found = run_cli("data", "status", "--data-dir", standin)
    assert found.output == (
        f"cats_and_dogs_filtered   found [stand-in]: {standin / 'cats_and_dogs_filtered'} (from --data-dir)\n"
        f"fashion_mnist            found [stand-in]: {standin / 'fashion-mnist'} (from --data-dir)\n"
        f"happy_or_sad             found [stand-in]: {standin / 'happy-or-sad'} (from --data-dir)\n"
        f"horse_or_human           found [stand-in]: {standin / 'horses-or-humans'} (from --data-dir)\n"
        f"inception_v3             found [stand-in]: {standin / 'inception_v3'} (from --data-dir)\n"
        f"mnist                    found [stand-in]: {standin / 'mnist'} (from --data-dir)\n"
        f"pet_images               found [stand-in]: {standin / 'kagglecatsanddogs'} (from --data-dir)\n"
        f"sign_mnist               found [stand-in]: {standin / 'sign-language-mnist'} (from --data-dir)\n")
    missing = run_cli("data", "status")
    cache = empty_places / "keras" / "datasets"

    def fix(name):
        return (f"Provide it with `grader data fetch {name}` (downloads it), `grader data import {name} PATH` (files "
                f"you downloaded yourself), or stand-ins for testing with `grader data synth DIR {name}` and "
                "`--data-dir DIR`.")

    assert missing.output == (
        f"cats_and_dogs_filtered   MISSING: needs train, validation; looked in {cache / 'cats_and_dogs_filtered'} "
        f"(Keras cache). {fix('cats_and_dogs_filtered')}\n"
        f"fashion_mnist            MISSING: needs {', '.join(FILES)}; looked in {cache / 'fashion-mnist'} (Keras cache). "
        f"{fix('fashion_mnist')}\n"
        f"happy_or_sad             MISSING: needs happy, sad; looked in {cache / 'happy-or-sad'} (Keras cache). "
        f"{fix('happy_or_sad')}\n"
        f"horse_or_human           MISSING: needs train, validation; looked in {cache / 'horses-or-humans'} (Keras "
        f"cache). {fix('horse_or_human')}\n"
        f"inception_v3             MISSING: needs inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5; looked in "
        f"{cache / 'inception_v3'} (Keras cache). {fix('inception_v3')}\n"
        f"mnist                    MISSING: needs mnist.npz; looked in {cache / 'mnist'} (Keras cache). {fix('mnist')}\n"
        f"pet_images               MISSING: needs PetImages; looked in {cache / 'kagglecatsanddogs'} (Keras cache). "
        f"{fix('pet_images')}\n"
        f"sign_mnist               MISSING: needs sign_mnist_train.csv, sign_mnist_test.csv; looked in "
        f"{cache / 'sign-language-mnist'} (Keras cache). {fix('sign_mnist')}\n")


def test_grading_without_the_dataset_is_exit_2_at_once_naming_files_and_commands(empty_places, tmp_path):
    started = time.time()
    sub = tmp_path / "s.py"
    sub.write_text("print(1)\n")
    result = run_cli("grade", "fashion_mnist_callback", sub, "--json", tmp_path / "r.json")
    assert time.time() - started < 5
    assert result.exit_code == 2
    assert "The dataset 'fashion_mnist' is missing: it needs " + ", ".join(FILES) in result.output
    assert "`grader data fetch fashion_mnist`" in result.output and "`grader data import fashion_mnist PATH`" in result.output
    assert not (tmp_path / "r.json").exists()


def test_import_puts_files_under_grader_data_dir_and_data_dir_means_the_same_layout(standin, empty_places,
                                                                                      monkeypatch, tmp_path):
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    for f in FILES:
        shutil.copyfile(standin / "fashion-mnist" / f, downloads / f)
    monkeypatch.setenv("GRADER_DATA_DIR", str(tmp_path / "data"))
    result = run_cli("data", "import", "fashion_mnist", downloads)
    assert result.exit_code == 0
    assert result.output == f"Imported fashion_mnist into {tmp_path / 'data' / 'fashion-mnist'}.\n"
    assert datasets.locate("fashion_mnist").origin == "GRADER_DATA_DIR"
    monkeypatch.delenv("GRADER_DATA_DIR")
    assert datasets.locate("fashion_mnist", tmp_path / "data").origin == "--data-dir"


def test_import_of_a_folder_that_lacks_a_file_names_it(standin, empty_places, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(standin / "fashion-mnist", partial)
    (partial / "t10k-labels-idx1-ubyte.gz").unlink()
    result = run_cli("data", "import", "fashion_mnist", partial)
    assert result.exit_code == 2
    assert f"{partial} lacks t10k-labels-idx1-ubyte.gz" in result.output


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "is damaged or not a gzip file"),
    (lambda p: p.write_bytes(gzip.compress(b"\x00\x00\x0c\x03" + b"\x00" * 100)),
     "is not an IDX file of 3-dimensional bytes"),
    (lambda p: p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes()) + b"\x00" * 7)),
     "has data beyond what its header describes"),
    (lambda p: p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-500])), "is truncated"),
])
def test_a_damaged_file_is_refused_naming_it(standin, empty_places, tmp_path, damage, message):
    bad = tmp_path / "bad"
    shutil.copytree(standin / "fashion-mnist", bad)
    damage(bad / "t10k-images-idx3-ubyte.gz")
    result = run_cli("data", "import", "fashion_mnist", bad, "--data-dir", tmp_path / "dest")
    assert result.exit_code == 2
    assert f"grader: {bad / 't10k-images-idx3-ubyte.gz'} {message}" in result.output
    assert not (tmp_path / "dest" / "fashion-mnist").exists()


def test_fetch_from_a_file_mirror_verifies_checksums(standin, empty_places, tmp_path):
    result = run_cli("data", "fetch", "fashion_mnist", "--mirror", (standin / "fashion-mnist").as_uri(),
                     "--data-dir", tmp_path / "dest")
    assert result.exit_code == 2
    mirror = (standin / "fashion-mnist").as_uri()
    assert f"grader: {mirror}/train-labels-idx1-ubyte.gz has the wrong checksum (md5 " in result.output
    assert "expected 25c81989df183df01b3e8a0aad5dffbe): it is not the published file." in result.output
    assert not (tmp_path / "dest" / "fashion-mnist").exists()


def test_fetch_installs_files_whose_checksums_match(standin, empty_places, tmp_path):
    """A dataset registered with the checksums of the files its mirror holds (as an institution's
    own dataset plugin would be) is fetched, validated and installed."""
    from grader import plugins
    from grader.hookspecs import hookimpl

    real = datasets.get("fashion_mnist")
    mirror = standin / "fashion-mnist"
    md5 = {f: datasets.md5_of(mirror / f) for f in FILES}

    class Mirrored:
        @hookimpl
        def grader_register_datasets(self, register):
            register(datasets.Dataset(**{**real.__dict__, "name": "fashion_mirrored", "md5": md5}))

    pm = plugins.get_plugin_manager()
    pm.register(Mirrored(), name="mirrored")
    try:
        result = run_cli("data", "fetch", "fashion_mirrored", "--mirror", mirror.as_uri(), "--data-dir", tmp_path)
        assert result.exit_code == 0, result.output
        assert datasets.locate("fashion_mirrored", tmp_path).path == tmp_path / "fashion-mnist"
        missing = run_cli("data", "fetch", "fashion_mirrored", "--mirror", (tmp_path / "nowhere").as_uri(),
                          "--data-dir", tmp_path / "other")
        assert missing.exit_code == 2 and "Could not download file://" in missing.output
    finally:
        pm.unregister(name="mirrored")


def test_loaded_splits_are_cached_as_memory_mapped_arrays(standin):
    loc = datasets.locate("fashion_mnist", standin)
    x1 = loc.dataset.load_split(loc, "test").x
    x2 = loc.dataset.load_split(loc, "test").x
    assert isinstance(x2, np.memmap) and np.array_equal(x1, x2)
    assert (datasets.cache_dir() / f"fashion_mnist-test-{loc.stamp()}" / "x.npy").is_file()
    with pytest.raises(DataError, match="has the splits 'train' and 'test', not 'validation'"):
        loc.dataset.load_split(loc, "validation")


HARD_CODED = {  # course code as students wrote it, with the real datasets' sizes in it
    "mnist_callback": ("import tensorflow as tf\n"
                       "(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()\n"
                       "print('shapes', x_train.reshape(60000, 28, 28, 1).shape, "
                       "x_test.reshape(10000, 28, 28, 1).shape)\n",
                       "shapes (60000, 28, 28, 1) (10000, 28, 28, 1)"),
    "fashion_mnist_callback": ("import tensorflow as tf\n"
                               "(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()\n"
                               "print('shapes', x_train.reshape(60000, 784).shape, y_test.reshape(10000, 1).shape)\n",
                               "shapes (60000, 784) (10000, 1)"),
    "sign_language": ("import numpy as np\n"
                      "train = np.loadtxt('sign_mnist_train.csv', delimiter=',', skiprows=1, dtype=np.uint8)\n"
                      "test = np.loadtxt('sign_mnist_test.csv', delimiter=',', skiprows=1, dtype=np.uint8)\n"
                      "print('shapes', train[:, 1:].reshape(27455, 28, 28, 1).shape, "
                      "test[:, 1:].reshape(7172, 28, 28, 1).shape)\n",
                      "shapes (27455, 28, 28, 1) (7172, 28, 28, 1)"),
}


@pytest.mark.parametrize("exercise", sorted(HARD_CODED))
def test_code_that_hard_codes_the_real_sizes_runs_on_the_stand_ins(exercise, standin, tmp_path):
    source, printed = HARD_CODED[exercise]
    (tmp_path / "sizes.py").write_text(source)
    run_cli("grade", exercise, tmp_path / "sizes.py", "--data-dir", standin, "--json", tmp_path / "r.json")
    run = json.loads((tmp_path / "r.json").read_text())["run"]
    assert (run["status"], run["output_tail"].strip()) == ("ok", printed)


def test_the_data_is_where_the_course_looks_when_working_folders_are_under_tmp(standin, tmp_path, monkeypatch):
    """GRADER_WORK_DIR under /tmp (a CI runner's temp folder): the program's own /tmp is a folder of its working
    folder, and a path inside the working folder is still there, not taken for one in /tmp (helper-18's honest
    sign_language solution could not open ./sign_mnist_train.csv, 0/10)."""
    from pathlib import Path

    from grader.workfolders import child_path

    run = Path("/tmp/ci/grader-run-1")
    assert child_path(run, "sign_mnist_train.csv") == run / "sign_mnist_train.csv"
    assert child_path(run, "/tmp/ci/grader-run-1/data/x.csv") == run / "data" / "x.csv"
    assert child_path(run, "/tmp/sign_mnist_train.csv") == run / "tmp" / "sign_mnist_train.csv"
    assert child_path(run, "/content/x") is None
    monkeypatch.setenv("GRADER_WORK_DIR", str(tmp_path))
    program = tmp_path / "reads.py"
    program.write_text("for name in ('sign_mnist_train.csv', '/tmp/sign_mnist_test.csv', 'data/sign_mnist_train.csv'):\n"
                       "    print(name, open(name).readline().split(',')[0])\n")
    run_cli("grade", "sign_language", program, "--data-dir", standin, "--json", tmp_path / "report.json")
    run = json.loads((tmp_path / "report.json").read_text())["run"]
    assert run["status"] == "ok", run
    for name in ("sign_mnist_train.csv", "/tmp/sign_mnist_test.csv", "data/sign_mnist_train.csv"):
        assert f"{name} label" in run["output_tail"], run["output_tail"]

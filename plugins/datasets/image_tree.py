"""Datasets that are a class-per-folder image tree: ``ROOT/<name>/{train,validation}/<class>/*.jpg``,
or, for a course zip that holds one set of images (``happy-or-sad.zip``), ``ROOT/<name>/<class>/*``
with the class folders at the top (its one split is "train").

``cats_and_dogs_filtered`` and ``happy_or_sad`` are registered here; horse-or-human and
rock-paper-scissors trees have the same shape and use the same code (``image_tree_dataset``).
Decisions, also in the README:
- ``grader data import``/``fetch`` refuse a tree with an undecodable image or an empty class folder,
  naming each file or folder.
- At grading time an image in the grader's own split that does not decode is skipped, and the report
  names it; accuracy is measured on the others.
"""

from __future__ import annotations

import colorsys

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from grader.datasets import (DataError, Dataset, Split, Staged, cached_arrays, check_archive, decoy_rows,
                             held_back_files)
from grader.fingerprint import file_hashes
from grader.hookspecs import hookimpl

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}


def class_folders(split_dir: Path) -> list[Path]:
    """The class folders (a macOS zip's __MACOSX and hidden folders are not classes)."""
    return sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX")


def images_in(folder: Path) -> list[Path]:
    """The images of a class folder: regular files only (a symbolic link could lead anywhere)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.is_symlink())


def symlinks_in(folder: Path) -> list[str]:
    """Every symbolic link under ``folder`` (not followed)."""
    found = []
    for where, dirs, files in os.walk(folder):
        found += [str(Path(where) / n) for n in dirs + files if (Path(where) / n).is_symlink()]
    return found


def validate_tree(folder: Path, splits: tuple):
    links = [link for split in splits for link in symlinks_in(folder / split)]
    if links:
        shown = ", ".join(links[:5]) + (f" and {len(links) - 5} more" if len(links) > 5 else "")
        raise DataError(f"These are symbolic links, not files: {shown}. A dataset holds its own files (a link could "
                        "show students any file of this machine); copy the real images in place of the links.")
    broken, empty = [], []
    classes = None
    for split in splits:
        split_dir = folder / split
        names = [p.name for p in class_folders(split_dir)]
        if len(names) < 2:
            raise DataError(f"{split_dir} needs one folder per class (at least two); it has {names or 'none'}.")
        if classes is not None and names != classes:
            raise DataError(f"{split_dir} has the classes {names}, but {folder / splits[0]} has {classes}.")
        classes = names
        for cls in class_folders(split_dir):
            files = images_in(cls)
            if not files:
                empty.append(str(cls))
            for f in files:
                try:
                    with Image.open(f) as im:
                        im.load()
                except Exception:
                    broken.append(str(f))
    if empty:
        raise DataError(f"These class folders hold no images: {', '.join(empty)}.")
    if broken:
        shown = ", ".join(broken[:10]) + (f" and {len(broken) - 10} more" if len(broken) > 10 else "")
        raise DataError(f"These images do not decode: {shown}. Delete or replace them, then import again.")


def _decode(path: Path, size: tuple, channels: int) -> np.ndarray:
    """As Keras' load_img does: convert the colour mode, resize with nearest-neighbour."""
    with Image.open(path) as im:
        im = im.convert("L" if channels == 1 else "RGB")
        if im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.NEAREST)
        arr = np.asarray(im, dtype=np.uint8)
    return arr[..., None] if channels == 1 else arr


EVALUATION = "validation"
VISIBLE = "validation_visible"  # the evaluation images the student's copy holds (when some are held back)


def split_files(located, split: str, flat: bool = False) -> dict:
    """{class name: [image files]} of ``split``. With images held back, "validation" is the held-back
    part (what the grade is measured on) and "validation_visible" the part the student's program has.
    A ``flat`` tree (class folders at the top) has the one split "train"."""
    if flat and split != "train":
        raise DataError(f"{located.dataset.name} has one split, 'train' (its class folders); not '{split}'.")
    folder = located.path if flat else located.path / (EVALUATION if split == VISIBLE else split)
    if not folder.is_dir():
        raise DataError(f"{located.dataset.name} has no split '{split}' ({folder} is missing).")
    out = {}
    for cls in class_folders(folder):
        files = images_in(cls)
        if split in (EVALUATION, VISIBLE) and located.held_back:
            held = held_back_files(files, located.held_back)
            files = [f for f in files if (f in held) == (split == EVALUATION)]
        out[cls.name] = files
    return out


MAX_SIDE = 1024  # pixels: the course's models take 150 or 300
MAX_SPLIT_BYTES = 128 * 2**20  # a split decoded for one model's input size (float32 for inference: 4x)


def decode_size(input_shape, native: tuple, count: int) -> tuple:
    """The size to decode the images at: the model's input size when it is a picture size the grader can
    afford (the model is the student's: its shape is untrusted), else the dataset's own size (and the
    model, if it cannot take that, is told so by the accuracy check)."""
    try:
        h, w, c = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        return native
    if not (0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE and c in (1, 3)) or count * h * w * c > MAX_SPLIT_BYTES:
        return native
    return h, w, c


def load_tree_split(located, split: str, input_shape=None, native=(150, 150, 3), flat: bool = False) -> Split:
    return load_files(located, split, split_files(located, split, flat), input_shape, native)


def load_files(located, split: str, files: dict, input_shape=None, native=(150, 150, 3)) -> Split:
    """A split decoded from ``files`` ({class: [image files]}, in label order), at the model's input size
    where it can be afforded (``decode_size``); a file that does not decode is skipped and named."""
    count = sum(len(f) for f in files.values())
    h, w, c = decode_size(input_shape, native, count)
    classes = list(files)

    def build():
        xs, ys, skipped = [], [], []
        for label, cls in enumerate(classes):
            for f in files[cls]:
                try:
                    xs.append(_decode(f, (h, w), c))
                    ys.append(label)
                except Exception:
                    skipped.append(str(f.relative_to(located.path)))
        return {"x": np.stack(xs) if xs else np.zeros((0, h, w, c), np.uint8), "y": np.array(ys, np.int64),
                "meta": {"skipped": skipped}}

    if (h, w, c) == tuple(native):  # other sizes are decoded anew: each would stay in the cache for good
        arrays = cached_arrays(f"{located.dataset.name}-{split}-{h}x{w}x{c}-{located.held_back:g}-{located.stamp()}",
                               build)
    else:
        arrays = build()
    return Split(x=arrays["x"], y=arrays["y"], classes=classes, skipped=arrays["meta"]["skipped"])


def decoy_files(located) -> dict:
    """{held-back evaluation image: the training image of its class the program's copy holds under its
    name}: a decoy per held-back image (at most one training image in five; see decoy_rows), so each
    class folder of the copy has as many images as the real one and shows nothing of those held back."""
    if not located.held_back or not (located.path / "train").is_dir():
        return {}
    out = {}
    for cls, held in split_files(located, EVALUATION).items():
        train = images_in(located.path / "train" / cls) if (located.path / "train" / cls).is_dir() else []
        rows = decoy_rows(len(train), len(held))
        out.update(zip(held, (train[r] for r in rows)))
    return out


def tree_fingerprints(located, split: str, flat: bool = False) -> set:
    """Content hashes of a split's images; "validation_visible" is what the program's validation folders
    hold (their decoys too: training on those folders is training on the validation data it was given)."""
    files = sorted(f for files in split_files(located, split, flat).values() for f in files)
    if split == VISIBLE:
        files += sorted(decoy_files(located).values())
    return set(file_hashes(files, limit=None))


def stage_tree(located, workdir: Path, name: str, archive: str, flat: bool = False, aliases=None,
               archive_at=(), classes_at=()) -> Staged:
    """The student's copy, in the working directory under the dataset's own name (the course's
    relative paths work), its held-back evaluation images replaced by decoys (``decoy_files``), in the
    child's Keras cache, where get_file would have put it, and where course code and students' local
    copies look for it (/tmp/NAME, data/NAME, ../data/NAME, or ``aliases``).
    ``archive_at``: where course code opens the course's zip without downloading it (built at once from
    the staged copy; otherwise it is built the first time a download asks for it). ``classes_at``:
    folders that hold a flat tree's class folders (beside whatever else is put there, such as the zip)."""
    folder = located.dataset.subdir
    tree = workdir / folder
    held = {str(f) for files in split_files(located, EVALUATION).values() for f in files} if located.held_back else set()

    def ignored(where, names):  # the marker, the evaluation images held back from the student, and links
        return {n for n in names if n == "STAND-IN.txt" or str(Path(where) / n) in held or (Path(where) / n).is_symlink()}

    shutil.copytree(located.path, tree, ignore=ignored)
    for image, decoy in decoy_files(located).items():
        shutil.copyfile(decoy, tree / image.relative_to(located.path))
    cache = workdir / ".keras" / "datasets"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / folder).symlink_to(tree, target_is_directory=True)
    top = "" if flat else name
    if archive_at:
        zip_tree(tree, top, cache / archive)
    splits = {"train_dir": str(tree)} if flat else \
        {f"{p.name}_dir": str(tree / p.name) for p in sorted(tree.iterdir()) if p.is_dir()}
    return Staged(env={"KERAS_HOME": str(workdir / ".keras")}, paths=splits,
                  downloads={archive: {"archive": str(cache / archive), "tree": str(tree), "top": top}},
                  home=tree, aliases=list(aliases) if aliases is not None else [f"/tmp/{name}", f"data/{name}", f"../data/{name}"],
                  links={**{f"{place}/{cls.name}": str(cls) for place in classes_at for cls in class_folders(tree)},
                         **{place: str(cache / archive) for place in archive_at}})


def zip_tree(tree: Path, top: str, archive: Path):
    """The course's zip of a staged tree: every file under ``top/`` (or at the zip's top when "")."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            z.write(path, str(Path(top) / path.relative_to(tree)) if top else str(path.relative_to(tree)))


def _shape_image(rng, angle: float, background: np.ndarray, side: int) -> Image.Image:
    """One bright elongated ellipse turned by ``angle`` degrees (the class: 0 lying flat, 90 standing, ...)
    on ``background`` (a square picture), in the left half of the picture (side 0) or the right half (side 1)."""
    size = background.shape[0]
    img = Image.fromarray(background)
    r = rng.uniform(0.16, 0.24) * size
    cx = rng.uniform(r + 2, size / 2 - 2) + side * size / 2
    cy = rng.uniform(r + 2, size - r - 2)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    theta = np.deg2rad(angle)
    px, py = r * np.cos(t), 0.35 * r * np.sin(t)
    points = list(zip(cx + px * np.cos(theta) - py * np.sin(theta), cy + px * np.sin(theta) + py * np.cos(theta)))
    ImageDraw.Draw(img).polygon(points, fill=tuple(int(v) for v in rng.integers(140, 256, 3)))
    return img


# The classes of a stand-in with three or more: shapes told apart by their outline, whatever a flip, a
# rotation, a shear, a zoom or a shift does to them (ellipses at angles were not: a horizontal flip turns
# 60 degrees into 120). Beyond these, polygons with more corners.
SHAPES = ("disc", "triangle", "square", "cross", "ring", "star")


def _class_shape(rng, kind: str, hue: float, background: np.ndarray, side: int) -> Image.Image:
    """One bright shape of ``kind`` (see SHAPES; "polygon-N" for N corners) at a random size and turn, in a
    colour near ``hue`` (0..1: the class's own, which no geometric augmentation changes), in the left
    (side 0) or right (side 1) half of ``background``."""
    size = background.shape[0]
    img = Image.fromarray(background)
    draw = ImageDraw.Draw(img)
    r = rng.uniform(0.14, 0.22) * size
    cx = rng.uniform(r + 2, size / 2 - 2) + side * size / 2
    cy = rng.uniform(r + 2, size - r - 2)
    turn = rng.uniform(0, 2 * np.pi)
    h = (hue + rng.uniform(-0.04, 0.04)) % 1.0
    colour = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(h, rng.uniform(0.6, 1.0), rng.uniform(0.75, 1.0)))

    def polygon(radii, corners):
        t = turn + np.linspace(0, 2 * np.pi, corners * len(radii), endpoint=False)
        rr = np.tile(radii, corners)
        return list(zip(cx + rr * np.cos(t), cy + rr * np.sin(t)))

    if kind == "disc":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif kind == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=colour, width=max(2, int(r / 3)))
    elif kind == "triangle":
        draw.polygon(polygon([r], 3), fill=colour)
    elif kind == "square":
        draw.polygon(polygon([r], 4), fill=colour)
    elif kind == "cross":
        draw.polygon(polygon([r, r * 0.35, r * 0.35 * np.sqrt(2), r * 0.35], 4), fill=colour)
    elif kind == "star":
        draw.polygon(polygon([r, r * 0.4], 5), fill=colour)
    else:
        draw.polygon(polygon([r], int(kind.split("-")[1])), fill=colour)
    return img


def _backgrounds(rng, count: int, size: int):
    """``count`` dark noisy square pictures (size, size, 3), one at a time: a colour of their own, and
    noise cut at a random place from a few larger fields of noise (drawn once: noise for every picture
    would take most of the time)."""
    fields = np.rint(rng.standard_normal((4, 2 * size, 2 * size, 3), dtype=np.float32) * 12).astype(np.int16)
    for _ in range(count):
        j, oy, ox = rng.integers(0, 4), *rng.integers(0, size, 2)
        yield np.clip(fields[j, oy:oy + size, ox:ox + size] + rng.integers(0, 90, 3).astype(np.int16), 0,
                      255).astype(np.uint8)


def synthesize_tree(folder: Path, seed: int, classes=("cats", "dogs"), train=150, validation=60, size=150):
    """A stand-in tree (``train`` and ``validation`` pictures per class; cats_and_dogs_filtered's is as large
    as the real one, 1,000 and 500), where augmentation matters: every training object lies in the left
    half of its picture and every validation object in the right half, so a network that never saw a
    flipped or shifted picture stays near chance on validation, and one trained with augmentation
    passes. Two classes are ellipses lying and standing (a flip keeps each as it is); three or more are
    shapes told apart by their outline (SHAPES) and colour, which flips, rotations, shears and zooms keep
    apart."""
    rng = np.random.default_rng(seed)
    for split, n, side in (("train", train, 0), ("validation", validation, 1)):
        for k, cls in enumerate(classes):
            out = folder / split / cls
            out.mkdir(parents=True, exist_ok=True)
            kind = SHAPES[k] if k < len(SHAPES) else f"polygon-{k + 1}"
            for i, background in enumerate(_backgrounds(rng, n, size)):
                picture = _shape_image(rng, 90 * k, background, side) if len(classes) == 2 else \
                    _class_shape(rng, kind, k / len(classes), background, side)
                picture.save(out / f"{cls.rstrip('s')}.{i}.jpg", quality=90)


def _face(rng, happy: bool, size: int) -> Image.Image:
    """A cartoon face like the course's: a yellow disc on a light background, two eyes, and a mouth
    that curves up (happy) or down (sad); size, place, shades and line widths vary."""
    bg = tuple(int(v) for v in rng.integers(215, 256, 3))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    r = rng.uniform(0.36, 0.46) * size
    cx, cy = rng.uniform(r, size - r, 2)
    face = (int(rng.integers(220, 256)), int(rng.integers(160, 230)), int(rng.integers(0, 90)))  # emoji yellows
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=face, outline=(0, 0, 0), width=int(rng.integers(1, 4)))
    ink = tuple(int(v) for v in rng.integers(0, 70, 3))
    eye = max(2.0, r * rng.uniform(0.07, 0.12))
    for side in (-1, 1):
        ex, ey = cx + side * r * rng.uniform(0.3, 0.45), cy - r * rng.uniform(0.2, 0.4)
        draw.ellipse([ex - eye, ey - eye, ex + eye, ey + eye], fill=ink)
    w, h = r * rng.uniform(0.5, 0.65), r * rng.uniform(0.3, 0.4)
    my = cy + r * rng.uniform(0.2, 0.35)
    box = [cx - w, my - h, cx + w, my + h]
    width = max(3, int(r * rng.uniform(0.1, 0.14)))
    if happy:
        draw.arc(box, 15, 165, fill=ink, width=width)
    else:
        draw.arc([box[0], box[1] + h, box[2], box[3] + h], 195, 345, fill=ink, width=width)
    return img


def synthesize_faces(folder: Path, seed: int, per_class: int = 40, size: int = 150):
    """A stand-in for happy-or-sad.zip: 40 happy and 40 sad 150x150 PNG faces, in happy/ and sad/."""
    rng = np.random.default_rng(seed)
    for cls in ("happy", "sad"):
        out = folder / cls
        out.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _face(rng, cls == "happy", size).save(out / f"{cls}{i // 10 + 1}-{i % 10:02d}.png")


def import_archive(source: Path, name: str, dest: Path, flat_classes: tuple = ()) -> Path:
    """Extract a course zip (``cats_and_dogs_filtered.zip``) and return the folder holding the splits
    (for a flat tree, the folder holding ``flat_classes``)."""
    try:
        with zipfile.ZipFile(source) as z:
            check_archive(z, source)
            z.extractall(dest)
    except (zipfile.BadZipFile, OSError) as exc:  # a damaged member, or a file and a folder of one name
        raise DataError(f"{source} could not be unpacked: {exc}. Download it again.") from None
    wanted = flat_classes or ("train",)
    for candidate in (dest / name, dest, *sorted(p for p in dest.iterdir() if p.is_dir() and p.name != "__MACOSX")):
        if all((candidate / w).is_dir() for w in wanted):
            if not flat_classes:
                return candidate
            tree = Path(tempfile.mkdtemp(prefix=".classes-", dir=dest))  # the class folders alone
            for cls in flat_classes:
                shutil.move(str(candidate / cls), str(tree / cls))
            return tree
    raise DataError(f"{source} does not hold " + (f"the folders {', '.join(wanted)}." if flat_classes
                                                   else f"a '{name}/train' folder."))


def image_tree_dataset(name: str, title: str, origin: str, archive: str, classes: tuple,
                       splits=("train", "validation"), flat: bool = False, subdir: str | None = None,
                       synthesize=None, aliases=None, archive_at=(), classes_at=(),
                       standin_counts=(150, 60)) -> Dataset:
    """A class-per-folder image dataset published as one zip. ``flat``: the zip holds the class folders
    themselves (one split, "train"); ``aliases``/``archive_at``: where course code looks for the tree and
    for the zip (see stage_tree); ``standin_counts``: pictures per class in the stand-in's train/ and
    validation/ (the real dataset's counts make course code that hard-codes them run; smaller ones train
    faster)."""
    files = tuple(classes) if flat else splits
    return Dataset(
        name=name, title=title, subdir=subdir or name, files=files, origin=origin, md5={}, archive=archive,
        validate=lambda folder: validate_tree(folder, ("",) if flat else splits),
        synthesize=synthesize or (lambda folder, seed: synthesize_tree(folder, seed, classes, *standin_counts)),
        stage=lambda located, workdir: stage_tree(located, workdir, name, archive, flat, aliases, archive_at,
                                                  classes_at),
        load_split=lambda located, split, input_shape=None: load_tree_split(located, split, input_shape, flat=flat),
        fingerprints=lambda located, split: tree_fingerprints(located, split, flat),
        unpack=lambda source, dest: import_archive(source, name, dest, tuple(classes) if flat else ()),
    )


# Where the course's happy-or-sad notebooks look: the zip fetched to /tmp (Colab), beside the
# notebook or in ../tmp2 (Coursera's lab), data/ (local copies); the tree extracted to /tmp/h-or-s, or
# the classes in ./data/ (the 2022 lab's base_dir), a folder that also holds the zip.
HAPPY_OR_SAD_TREE = ["/tmp/h-or-s", "/tmp/happy-or-sad"]
HAPPY_OR_SAD_CLASSES = ["data"]
HAPPY_OR_SAD_ZIP = ["happy-or-sad.zip", "../tmp2/happy-or-sad.zip", "/tmp/happy-or-sad.zip", "data/happy-or-sad.zip"]


# The 2019-20 week-2 notebooks download Kaggle's whole set and split it themselves before augmenting: they get
# a zip in its layout (PetImages/Cat, PetImages/Dog) of the exercise's training pictures, nothing held back in it.
KAGGLE_ZIPS = ("kagglecatsanddogs_3367a.zip", "kagglecatsanddogs_5340.zip", "cats-and-dogs.zip")


def stage_with_kaggle_zip(located, workdir: Path) -> Staged:
    staged = stage_tree(located, workdir, "cats_and_dogs_filtered", "cats_and_dogs_filtered.zip")
    cache = workdir / ".keras" / "datasets"
    for name in KAGGLE_ZIPS:
        staged.downloads[name] = {"archive": str(cache / name), "tree": str(staged.home / "train"), "top": "PetImages",
                                  "rename": {"cats": "Cat", "dogs": "Dog"}}
    return staged


@hookimpl
def grader_register_datasets(register):
    import dataclasses

    register(dataclasses.replace(image_tree_dataset(
        "cats_and_dogs_filtered", "Cats vs dogs, filtered: colour photos in train/ and validation/, 2 classes",
        origin="https://storage.googleapis.com/mledu-datasets/", archive="cats_and_dogs_filtered.zip",
        classes=("cats", "dogs"), standin_counts=(1000, 500)), stage=stage_with_kaggle_zip))
    register(image_tree_dataset(
        "happy_or_sad", "Happy or sad: 80 cartoon faces in happy/ and sad/, 2 classes (one split)",
        origin="https://storage.googleapis.com/laurencemoroney-blog.appspot.com/", archive="happy-or-sad.zip",
        classes=("happy", "sad"), flat=True, subdir="happy-or-sad", synthesize=synthesize_faces,
        aliases=HAPPY_OR_SAD_TREE, archive_at=HAPPY_OR_SAD_ZIP, classes_at=HAPPY_OR_SAD_CLASSES))

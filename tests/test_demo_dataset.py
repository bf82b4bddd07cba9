"""scripts/make_demo_dataset.py: layout, sizes, class ids, pairing and determinism."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from util.celebamaskhq import CLASS_NAMES, PALETTE  # noqa: E402

SCRIPT = REPO_ROOT / "scripts" / "make_demo_dataset.py"
SIZE = 32
ALWAYS_DRAWN = {"background", "skin", "nose", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
                "u_lip", "l_lip", "hair", "neck", "cloth"}


def make(out: Path, seed: int = 0) -> str:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--num_train", "6", "--num_test", "2",
         "--size", str(SIZE), "--seed", str(seed)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def names(folder: Path, suffix: str) -> list[str]:
    return sorted(path.stem for path in folder.glob(f"*{suffix}"))


def test_layout_sizes_ids_and_determinism(tmp_path):
    summary = make(tmp_path / "first")
    assert f"wrote 6 train and 2 test samples ({SIZE}×{SIZE}) to {tmp_path / 'first'}/" in summary

    present = set()
    for phase, count in (("train", 6), ("test", 2)):
        folder = tmp_path / "first" / phase
        label_names = names(folder / "labels", ".png")
        assert len(label_names) == count
        assert names(folder / "images", ".jpg") == label_names == names(folder / "vis", ".png")
        for name in label_names:
            label_image = Image.open(folder / "labels" / f"{name}.png")
            assert label_image.mode == "L" and label_image.size == (SIZE, SIZE)
            label = np.array(label_image)
            assert label.max() < len(CLASS_NAMES)
            present |= {CLASS_NAMES[class_id] for class_id in np.unique(label)}
            photo = Image.open(folder / "images" / f"{name}.jpg")
            assert photo.mode == "RGB" and photo.size == (SIZE, SIZE)
            np.testing.assert_array_equal(np.array(Image.open(folder / "vis" / f"{name}.png")), PALETTE[label])
    assert ALWAYS_DRAWN <= present
    all_names = names(tmp_path / "first" / "train" / "labels", ".png") + names(tmp_path / "first" / "test" / "labels", ".png")
    assert len(set(all_names)) == 8, "train and test samples must have distinct names"

    make(tmp_path / "second")
    make(tmp_path / "other_seed", seed=1)
    for label_file in (tmp_path / "first").glob("*/labels/*.png"):
        relative = label_file.relative_to(tmp_path / "first")
        assert label_file.read_bytes() == (tmp_path / "second" / relative).read_bytes()
    first_label = (tmp_path / "first" / "train" / "labels" / "00000.png").read_bytes()
    assert first_label != (tmp_path / "other_seed" / "train" / "labels" / "00000.png").read_bytes()


def test_photos_follow_the_labels(tmp_path):
    """Each class has its own look: pixels of the same class are closer in colour than of different ones."""
    make(tmp_path / "demo")
    folder = tmp_path / "demo" / "train"
    label = np.array(Image.open(folder / "labels" / "00000.png"))
    photo = np.array(Image.open(folder / "images" / "00000.jpg")).astype(float)
    class_means = {class_id: photo[label == class_id].mean(axis=0) for class_id in np.unique(label)}
    skin, cloth = CLASS_NAMES.index("skin"), CLASS_NAMES.index("cloth")
    assert np.abs(class_means[skin] - class_means[cloth]).sum() > 30


def test_too_small_size_is_refused(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--size", "8"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == "error: --size 8 is too small to draw the face parts; pass --size 16 or more\n"

"""scripts/prepare_celebamaskhq.py on a miniature of the official CelebAMask-HQ layout."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from util.celebamaskhq import CLASS_NAMES, PALETTE  # noqa: E402

SCRIPT = REPO_ROOT / "scripts" / "prepare_celebamaskhq.py"
IMAGE_IDS = (0, 1, 2, 2005)  # 2005 lies in mask folder 1
SIZE = 8
MASK_SCALE = 2  # masks are 16×16 of 2×2 blocks, so any nearest-neighbour rule gives the same 8×8 map
PHOTO_SIZE = 20


def make_miniature(root: Path) -> dict[int, np.ndarray]:
    """Writes photos and overlapping part masks; returns each id's expected SIZE×SIZE label."""
    rng = np.random.default_rng(0)
    (root / "CelebA-HQ-img").mkdir(parents=True)
    expected = {}
    for image_id in IMAGE_IDS:
        photo = rng.integers(0, 256, (PHOTO_SIZE, PHOTO_SIZE, 3), dtype=np.uint8)
        Image.fromarray(photo).save(root / "CelebA-HQ-img" / f"{image_id}.jpg")
        part_folder = root / "CelebAMask-HQ-mask-anno" / str(image_id // 2000)
        part_folder.mkdir(parents=True, exist_ok=True)
        label = np.zeros((SIZE, SIZE), dtype=np.uint8)
        for class_id in sorted(rng.choice(np.arange(1, len(CLASS_NAMES)), size=6, replace=False)):
            part = rng.random((SIZE, SIZE)) < 0.4  # dense enough that parts overlap
            label[part] = class_id  # later classes overwrite earlier ones
            mask = np.kron(part, np.ones((MASK_SCALE, MASK_SCALE), dtype=bool)).astype(np.uint8) * 255
            mask_image = Image.fromarray(mask)
            if class_id % 2:  # the official masks are not all stored in the same mode
                mask_image = mask_image.convert("RGB")
            mask_image.save(part_folder / f"{image_id:05d}_{CLASS_NAMES[class_id]}.png")
        expected[image_id] = label
    return expected


def run_in_process(*args) -> None:
    """main() of the script without a new interpreter (each one spends seconds on imports)."""
    spec = importlib.util.spec_from_file_location("prepare_celebamaskhq", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main([str(arg) for arg in args])


def ids_in(out: Path, phase: str) -> set[int]:
    return {int(path.stem) for path in (out / phase / "labels").glob("*.png")}


def test_labels_photos_previews_split_and_resumption(tmp_path, capsys):
    expected = make_miniature(tmp_path / "root")
    split_file = tmp_path / "split.txt"
    split_file.write_text("0 train\n1 train\n00002 test\n2005 test\n")
    out = tmp_path / "out"
    command = [sys.executable, str(SCRIPT), "--root", str(tmp_path / "root"), "--out", str(out),
               "--size", str(SIZE), "--split_file", str(split_file), "--workers", "2"]

    first = subprocess.run(command, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert f"prepared 4 images: 2 train, 2 test in {out}/ (skipped 0 already done)" in first.stdout
    assert ids_in(out, "train") == {0, 1} and ids_in(out, "test") == {2, 2005}
    for image_id, label in expected.items():
        phase = "train" if image_id < 2 else "test"
        written = np.array(Image.open(out / phase / "labels" / f"{image_id}.png"))
        np.testing.assert_array_equal(written, label)
        preview = np.array(Image.open(out / phase / "vis" / f"{image_id}.png"))
        np.testing.assert_array_equal(preview, PALETTE[label])
        photo = Image.open(out / phase / "images" / f"{image_id}.jpg")
        assert photo.size == (SIZE, SIZE) and photo.mode == "RGB" and photo.format == "JPEG"

    (out / "test" / "labels" / "2005.png").unlink()  # as if interrupted before that file
    run_in_process(*command[2:])
    summary = capsys.readouterr().out
    assert "prepared 4 images: 2 train, 2 test" in summary and "(skipped 3 already done)" in summary
    np.testing.assert_array_equal(np.array(Image.open(out / "test" / "labels" / "2005.png")), expected[2005])


def test_celeba_partition_split_goes_through_the_mapping_file(tmp_path, capsys):
    make_miniature(tmp_path / "root")
    (tmp_path / "root" / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx         orig_idx    orig_file\n"
        "0           119613      119614.jpg\n"
        "1           99094       099095.jpg\n"
        "2           200121      200122.jpg\n"
        "2005        81059       081060.jpg\n"
    )
    partition = tmp_path / "list_eval_partition.txt"
    partition.write_text("081060.jpg 0\n099095.jpg 1\n119614.jpg 0\n123456.jpg 0\n200122.jpg 2\n")
    out = tmp_path / "out"
    run_in_process("--root", tmp_path / "root", "--out", out, "--size", SIZE, "--split_file", partition, "--workers", 1)
    assert ids_in(out, "train") == {0, 2005} and ids_in(out, "test") == {1, 2}
    assert "prepared 4 images: 2 train, 2 test" in capsys.readouterr().out


def test_random_split_of_a_seeded_subset(tmp_path, capsys):
    make_miniature(tmp_path / "root")
    chosen = []
    for out in (tmp_path / "first", tmp_path / "second"):
        run_in_process("--root", tmp_path / "root", "--out", out, "--size", SIZE,
                       "--subset", 3, "--seed", 5, "--test_fraction", 0.34, "--workers", 1)
        train, test = ids_in(out, "train"), ids_in(out, "test")
        assert len(train) == 2 and len(test) == 1 and (train | test) < set(IMAGE_IDS)
        chosen.append((train, test))
    assert chosen[0] == chosen[1], "the same seed must give the same subset and split"
    assert "prepared 3 images: 2 train, 1 test" in capsys.readouterr().out


def test_a_rerun_with_another_split_is_refused(tmp_path, capsys):
    make_miniature(tmp_path / "root")
    out = tmp_path / "out"
    run_in_process("--root", tmp_path / "root", "--out", out, "--size", SIZE, "--test_fraction", 0.5, "--workers", 1)
    flipped_split = tmp_path / "split.txt"
    flipped_split.write_text("".join(f"{image_id} {'train' if image_id in ids_in(out, 'test') else 'test'}\n"
                                     for image_id in IMAGE_IDS))
    with pytest.raises(SystemExit):
        run_in_process("--root", tmp_path / "root", "--out", out, "--size", SIZE, "--split_file", flipped_split)
    assert "was prepared with another split" in capsys.readouterr().err


def test_a_missing_root_is_one_sentence_without_traceback(tmp_path):
    missing = tmp_path / "nowhere"
    result = subprocess.run([sys.executable, str(SCRIPT), "--root", str(missing)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: CelebAMask-HQ folder {missing} does not exist; pass --root pointing at the unzipped "
        "CelebAMask-HQ folder (holding CelebA-HQ-img/ and CelebAMask-HQ-mask-anno/)\n"
    )


@pytest.mark.parametrize(
    "remove, message",
    [
        ("CelebAMask-HQ-mask-anno", "has no CelebAMask-HQ-mask-anno/ folder"),
        ("CelebA-HQ-img/*.jpg", "holds no <id>.jpg images"),
        ("CelebAMask-HQ-mask-anno/1", "has no folder CelebAMask-HQ-mask-anno/1/ for image 2005"),
        ("CelebAMask-HQ-mask-anno/1/*.png", "image 2005 has no part masks"),
    ],
)
def test_incomplete_downloads_are_named(tmp_path, capsys, remove, message):
    root = tmp_path / "root"
    make_miniature(root)
    for path in root.glob(remove):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    with pytest.raises(SystemExit) as exit_info:
        run_in_process("--root", root, "--out", tmp_path / "out", "--size", SIZE, "--workers", 1)
    assert exit_info.value.code == 1
    last_line = capsys.readouterr().err.splitlines()[-1]  # after the progress bar, if it started
    assert last_line.startswith("error: ") and message in last_line

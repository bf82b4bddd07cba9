"""positional_offsets against hand-computed values, flipping, and scripts/compute_dist_maps.py."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from data.positional_offsets import flip_offsets_horizontally, positional_offsets  # noqa: E402

EPSILON = 1e-5

# Class 1: an L of three pixels top-left and a diagonal pair bottom-right (one component only
# under 8-connectivity); class 2: a vertical pair top-right.
TINY_LABEL = np.array(
    [
        [1, 1, 0, 0, 2],
        [1, 0, 0, 0, 2],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
    ],
    dtype=np.uint8,
)


def tiny_raw_offsets():
    """Offsets worked out by hand: L centroid (1/3, 1/3), diagonal (3.5, 3.5), pair (0.5, 4)."""
    rows = np.zeros((5, 5))
    cols = np.zeros((5, 5))
    third = 1 / 3
    rows[0, 0], cols[0, 0] = -third, -third
    rows[0, 1], cols[0, 1] = -third, 2 * third
    rows[1, 0], cols[1, 0] = 2 * third, -third
    rows[3, 3], cols[3, 3] = -0.5, -0.5
    rows[4, 4], cols[4, 4] = 0.5, 0.5
    rows[0, 4], rows[1, 4] = -0.5, 0.5
    return np.stack([rows, cols])


def test_raw_offsets_match_hand_computed_values():
    offsets = positional_offsets(TINY_LABEL, normalize=False)
    assert offsets.dtype == np.float32 and offsets.shape == (2, 5, 5)
    np.testing.assert_allclose(offsets, tiny_raw_offsets(), atol=1e-6)


def test_normalized_offsets_divide_each_channel_by_its_component_maximum():
    expected = tiny_raw_offsets()
    l_shape = (slice(0, 2), slice(0, 2))
    expected[0][l_shape] /= 2 / 3 + EPSILON
    expected[1][l_shape] /= 2 / 3 + EPSILON
    diagonal = (slice(3, 5), slice(3, 5))
    expected[0][diagonal] /= 0.5 + EPSILON
    expected[1][diagonal] /= 0.5 + EPSILON
    expected[0][0:2, 4] /= 0.5 + EPSILON  # the pair's column offsets are 0 and stay 0
    np.testing.assert_allclose(positional_offsets(TINY_LABEL), expected, atol=1e-6)


def test_diagonal_neighbours_form_one_component():
    label = np.eye(4, dtype=np.uint8)
    offsets = positional_offsets(label, normalize=False)
    np.testing.assert_allclose(np.diag(offsets[0]), [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_allclose(np.diag(offsets[1]), [-1.5, -0.5, 0.5, 1.5])


def random_blocky_label(seed, shape=(24, 30), classes=5):
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, classes, (shape[0] // 3, shape[1] // 3))
    return np.kron(blocks, np.ones((3, 3), dtype=np.int64)).astype(np.uint8)


def test_background_is_zero_and_normalized_values_lie_in_open_unit_interval():
    label = random_blocky_label(seed=1)
    offsets = positional_offsets(label)
    assert np.all(offsets[:, label == 0] == 0)
    assert np.abs(offsets).max() < 1
    assert np.isclose(np.abs(offsets).max(), 1, atol=1e-3)


def test_flipping_the_label_equals_flipping_its_offsets():
    label = random_blocky_label(seed=2)
    offsets = positional_offsets(label)
    of_flipped_label = positional_offsets(label[:, ::-1].copy())
    np.testing.assert_allclose(flip_offsets_horizontally(offsets), of_flipped_label, atol=1e-6)
    flipped_tensor = flip_offsets_horizontally(torch.from_numpy(offsets)[None])
    np.testing.assert_allclose(flipped_tensor[0].numpy(), of_flipped_label, atol=1e-6)
    assert np.array_equal(offsets, positional_offsets(label)), "the input must stay untouched"


SCRIPT = REPO_ROOT / "scripts" / "compute_dist_maps.py"


def run_script_in_process(*args):
    """main() of the script without a new interpreter (each one spends seconds importing torch)."""
    spec = importlib.util.spec_from_file_location("compute_dist_maps", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main([str(arg) for arg in args])


def test_script_writes_one_map_per_label_and_skips_existing(tmp_path, capsys):
    label_dir = tmp_path / "train" / "labels"
    label_dir.mkdir(parents=True)
    labels = {"00001": TINY_LABEL, "00002": random_blocky_label(seed=3)}
    for stem, label in labels.items():
        Image.fromarray(label).save(label_dir / f"{stem}.png")

    first = subprocess.run(
        [sys.executable, str(SCRIPT), "--label_dir", str(label_dir), "--workers", "2"],
        capture_output=True, text=True,
    )
    assert first.returncode == 0, first.stderr
    dist_dir = tmp_path / "train" / "dist"
    assert sorted(path.name for path in dist_dir.iterdir()) == ["00001.npy", "00002.npy"]
    for stem, label in labels.items():
        saved = np.load(dist_dir / f"{stem}.npy")
        assert saved.dtype == np.float32
        np.testing.assert_array_equal(saved, positional_offsets(label))
    assert f"wrote 2 positional maps to {dist_dir} (skipped 0 already done)" in first.stdout

    run_script_in_process("--label_dir", label_dir, "--workers", 1)
    assert f"wrote 0 positional maps to {dist_dir} (skipped 2 already done)" in capsys.readouterr().out

    run_script_in_process("--label_dir", label_dir, "--out_dir", tmp_path / "raw", "--no_norm", "--workers", 1)
    np.testing.assert_allclose(np.load(tmp_path / "raw" / "00001.npy"), tiny_raw_offsets(), atol=1e-6)


@pytest.mark.parametrize("make_folder", [False, True])
def test_script_reports_a_missing_or_empty_label_folder(tmp_path, capsys, make_folder):
    label_dir = tmp_path / "labels"
    if make_folder:
        label_dir.mkdir()
    with pytest.raises(SystemExit) as exit_info:
        run_script_in_process("--label_dir", label_dir)
    assert exit_info.value.code == 1
    message = capsys.readouterr().err
    assert message.startswith(f"error: label folder {label_dir} ") and message.count("\n") == 1

"""FID: the formula against scipy, the script end to end with random-weight Inception."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import linalg

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from util import fid  # noqa: E402
from util.errors import UserError  # noqa: E402

SCRIPT = REPO_ROOT / "scripts" / "fid_score.py"


def random_covariance(rng, dims):
    factor = rng.normal(size=(dims, dims))
    return factor @ factor.T + 0.1 * np.eye(dims)


def test_frechet_distance_matches_direct_scipy_computation():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    sigma1, sigma2 = random_covariance(rng, 16), random_covariance(rng, 16)
    direct = (np.sum((mu1 - mu2) ** 2)
              + np.trace(sigma1 + sigma2 - 2 * linalg.sqrtm(sigma1 @ sigma2).real))
    assert fid.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(direct, rel=1e-9)


def test_frechet_distance_of_diagonal_covariances_has_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    variances1, variances2 = rng.uniform(0.1, 3, size=8), rng.uniform(0.1, 3, size=8)
    closed_form = (np.sum((mu1 - mu2) ** 2)
                   + np.sum((np.sqrt(variances1) - np.sqrt(variances2)) ** 2))
    distance = fid.frechet_distance(mu1, np.diag(variances1), mu2, np.diag(variances2))
    assert distance == pytest.approx(closed_form, rel=1e-9)


def test_frechet_distance_of_identical_statistics_is_zero():
    rng = np.random.default_rng(2)
    mu, sigma = rng.normal(size=32), random_covariance(rng, 32)
    assert abs(fid.frechet_distance(mu, sigma, mu, sigma)) < 1e-6
    too_few_samples = np.cov(rng.normal(size=(5, 32)), rowvar=False)  # singular
    assert abs(fid.frechet_distance(mu, too_few_samples, mu, too_few_samples)) < 1e-3


def test_statistics_round_trip_and_bad_files(tmp_path):
    mu, sigma = np.arange(3.0), np.eye(3)
    fid.save_statistics(tmp_path / "stats.npz", mu, sigma)
    loaded_mu, loaded_sigma = fid.load_statistics(tmp_path / "stats.npz")
    assert np.array_equal(loaded_mu, mu) and np.array_equal(loaded_sigma, sigma)

    np.savez(tmp_path / "other.npz", m=mu)
    with pytest.raises(UserError, match="other.npz has no 'mu' and 'sigma'"):
        fid.load_statistics(tmp_path / "other.npz")
    with pytest.raises(UserError, match="missing.npz does not exist"):
        fid.load_statistics(tmp_path / "missing.npz")


def test_unsupported_dims_and_empty_folder_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="dims 100 is not supported"):
        fid.load_inception(100)
    with pytest.raises(UserError, match="holds no"):
        fid.image_paths(tmp_path)


def write_random_images(folder, count, seed, size=(32, 32), brightest=255):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for index in range(count):
        width, height = size
        pixels = rng.integers(0, brightest + 1, size=(height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:03d}.png")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Random-weight FID Inception file and two folders of 8 noise images."""
    root = tmp_path_factory.mktemp("fid")
    torch.manual_seed(0)
    torch.save(fid.fid_inception_trunk().state_dict(), root / "pt_inception.pth")
    write_random_images(root / "real", 8, seed=0)
    write_random_images(root / "fake", 8, seed=1, brightest=120)
    (root / "empty_torch_home").mkdir()
    return root


def run_script(workspace, *args):
    env = dict(os.environ, TORCH_HOME=str(workspace / "empty_torch_home"),
               # a closed local port: a download attempt fails at once, online or not
               https_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=workspace,
                          env=env, capture_output=True, text=True, timeout=120)


def reported_fid(result):
    assert result.returncode == 0, result.stderr
    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.startswith("FID: ")
    return float(last_line.split()[1])


def test_script_fid_of_folders_and_saved_statistics(workspace):
    common = ["--dims", "64", "--weights", workspace / "pt_inception.pth", "--batch-size", "4"]
    assert reported_fid(run_script(workspace, "real", "real", *common, "--num-workers", "0")) < 1e-3
    assert reported_fid(run_script(workspace, "real", "fake", *common)) > 1e-3

    saved = run_script(workspace, "real", "--save-stats", "stats/real.npz", *common,
                       "--num-workers", "0")
    assert saved.returncode == 0, saved.stderr
    mu, sigma = fid.load_statistics(workspace / "stats" / "real.npz")
    assert mu.shape == (64,) and sigma.shape == (64, 64)
    assert reported_fid(run_script(workspace, "stats/real.npz", "real", *common,
                                   "--num-workers", "0")) < 1e-3


def test_folder_statistics_batch_mixed_sizes_like_single_images(workspace, tmp_path):
    mixed = tmp_path / "mixed"
    write_random_images(mixed, 3, seed=2, size=(32, 32))
    Image.open(mixed / "000.png").resize((48, 40)).save(mixed / "003.png")
    Image.open(mixed / "001.png").resize((48, 40)).save(mixed / "004.png")
    model = fid.load_inception(64, workspace / "pt_inception.pth")

    mu, sigma = fid.folder_statistics(mixed, model, batch_size=4, progress=False)
    one_at_a_time = (torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy())
                     .permute(2, 0, 1)[None].float() / 127.5 - 1
                     for path in fid.image_paths(mixed))
    expected_mu, expected_sigma = fid.activation_statistics(one_at_a_time, model)
    assert np.allclose(mu, expected_mu, atol=1e-5)
    assert np.allclose(sigma, expected_sigma, atol=1e-6)


def test_missing_weights_name_the_file_and_the_flag(workspace):
    result = run_script(workspace, "real", "fake", "--dims", "64", "--device", "cpu")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ")
    assert fid.WEIGHTS_FILE_NAME in message
    assert str(workspace / "empty_torch_home" / "hub" / "checkpoints") in message
    assert "--weights PATH" in message and "--fid_weights PATH" in message


class ChannelMeans(torch.nn.Module):
    """Stands in for Inception: one 3-dimensional feature per image, its channel means."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, images):
        return [images.mean(dim=(2, 3), keepdim=True) + 100]


def test_statistics_gathered_batch_by_batch_equal_numpy_mean_and_covariance():
    torch.manual_seed(0)
    batches = [torch.rand(size, 3, 4, 4) * 2 - 1 for size in (1, 5, 3)]
    mu, sigma = fid.activation_statistics(batches, ChannelMeans())
    features = (torch.cat(batches).mean(dim=(2, 3)) + 100).double().numpy()
    assert np.allclose(mu, features.mean(axis=0), rtol=0, atol=1e-9)
    assert np.allclose(sigma, np.cov(features, rowvar=False), rtol=0, atol=1e-9)


def test_generated_images_as_saved_8bit_equal_their_png(tmp_path):
    from util.visuals import tensor_to_image

    generated = torch.rand(1, 3, 8, 8) * 2.2 - 1.1
    Image.fromarray(tensor_to_image(generated[0])).save(tmp_path / "picture.png")
    read_back = torch.from_numpy(np.asarray(Image.open(tmp_path / "picture.png")).copy()).permute(2, 0, 1)
    assert torch.equal(fid.as_saved_8bit(generated)[0], read_back.float() / 127.5 - 1)

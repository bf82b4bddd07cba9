"""Mixed precision, channels-last and torch.compile give the fp32 results within their precision.

On the CPU, or on the first GPU of ``TEST_GPU_IDS`` (``scripts/gpu_check.sh`` sets it).
"""
import os
import sys

import pytest
import torch

from conftest import REPO, load_weights, run_script, train_flags
from models.pix2pix_model import Pix2PixModel
from models.trainer import Pix2PixTrainer
from options.train_options import TrainOptions

sys.path.append(str(REPO / "scripts"))  # after the repository: scripts/editor.py must not hide the editor package
from benchmark import synthetic_batch  # noqa: E402

GPU_ID = os.environ.get("TEST_GPU_IDS", "-1").split(",")[0]
FLAGS = ["--gpu_ids", GPU_ID, "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--ngf", "8", "--ndf",
         "8", "--load_size", "64", "--crop_size", "64", "--no_vgg_loss", "--batchSize", "2", "--norm_mode", "clade"]


def one_step(extra):
    """Generated images before training and the losses of one G+D step, from the same initial weights."""
    opt = TrainOptions().parse([*FLAGS, *extra])
    torch.manual_seed(0)
    model = Pix2PixModel(opt).to(opt.device)
    trainer = Pix2PixTrainer(opt, model)
    batch = synthetic_batch(opt)
    generated = model.inference(batch)
    trainer.generator_step(batch)
    trainer.discriminator_step(batch)
    return generated, {name: value.item() for name, value in trainer.latest_losses().items()}, model


@pytest.fixture(scope="module", autouse=True)
def exact_fp32():
    """On a GPU, fp32 without TF32 (cuDNN's default for convolutions), so that fp32 is the baseline."""
    kept = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = kept


@pytest.fixture(scope="module")
def fp32():
    generated, losses, _ = one_step(["--memory_format", "contiguous"])
    return generated, losses


def assert_losses_close(losses, reference, tolerance):
    assert list(losses) == list(reference)
    for name in losses:
        assert losses[name] == pytest.approx(reference[name], rel=tolerance, abs=tolerance), name


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_mixed_precision_is_close_to_fp32(fp32, dtype):
    generated, losses, _ = one_step(["--use_amp", "--amp_dtype", dtype])
    assert generated.dtype == torch.float32
    assert (generated - fp32[0]).abs().max().item() < 0.05
    assert_losses_close(losses, fp32[1], 0.02)


def test_channels_last_is_the_cpu_default_and_equals_fp32(fp32):
    generated, losses, model = one_step([] if GPU_ID == "-1" else ["--memory_format", "channels_last"])
    assert (generated - fp32[0]).abs().max().item() < 1e-5
    assert_losses_close(losses, fp32[1], 1e-4)
    assert model.netG.fc.weight.is_contiguous(memory_format=torch.channels_last)
    assert model.netD.discriminator_0.model0[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_spade_in_channels_last_equals_contiguous():
    spade = ["--norm_mode", "spade"]
    contiguous, contiguous_losses, _ = one_step([*spade, "--memory_format", "contiguous"])
    generated, losses, model = one_step([*spade, "--memory_format", "channels_last"])
    assert (generated - contiguous).abs().max().item() < 1e-5
    assert_losses_close(losses, contiguous_losses, 1e-4)
    assert model.netG.head_0.norm_0.mlp_gamma.weight.is_contiguous(memory_format=torch.channels_last)


def test_compile_equals_fp32_and_keeps_the_keys(fp32, monkeypatch):
    # inductor's C++ code generation takes minutes on a 2-core CPU; aot_eager traces the same graphs
    compile_with = torch.compile
    monkeypatch.setattr(torch, "compile", lambda module: compile_with(module, backend="aot_eager"))
    generated, losses, model = one_step(["--compile"])
    assert (generated - fp32[0]).abs().max().item() < 1e-5
    assert_losses_close(losses, fp32[1], 1e-4)
    assert type(model.runners["G"]).__name__ == "OptimizedModule"
    assert not any("_orig_mod" in key for key in model.netG.state_dict())


def test_fp16_scaler_state_is_saved_and_resumed(tmp_path):
    flags = ["--name", "amp", *train_flags(tmp_path), "--use_amp", "--amp_dtype", "fp16"]
    assert run_script("train.py", *flags, "--niter", "1").returncode == 0
    state = torch.load(tmp_path / "amp" / "latest_training_state.pth", weights_only=False)
    assert state["scaler_G"]["scale"] > 0 and state["scaler_D"]["_growth_tracker"] >= 0
    resumed = run_script("train.py", "--name", "amp", "--checkpoints_dir", tmp_path, "--continue_train", "--niter", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 epochs, 16 iterations" in resumed.stdout
    assert all(torch.isfinite(t).all() for t in load_weights(tmp_path / "amp" / "latest_net_G.pth").values()
               if t.is_floating_point())

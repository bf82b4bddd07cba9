"""Training under --norm_mode sean: exact resume, EMA, mixed precision, FID and DistributedDataParallel.

Short style codes (--style_length 16) keep the generator small; the layout is SEAN's otherwise.
"""
import subprocess
import sys

from conftest import REPO, assert_same_weights, load_weights, run_script, train_flags

SEAN = ["--norm_mode", "sean", "--style_length", "16", "--max_dataset_size", "4", "--niter_decay", "0"]


def sean_train_flags(checkpoints, *extra):
    return [*train_flags(checkpoints), *SEAN, *map(str, extra)]


def test_resumed_sean_run_with_ema_amp_and_fid_is_bit_identical_to_an_unbroken_one(tmp_path, inception_file):
    # FID after each epoch draws SEAN's noise in the middle of training: it must not shift the resumed run
    extra = ["--use_amp", "--ema_decay", "0.9", "--ema_bn_batches", "1", "--train_eval", "--eval_epoch_freq", "1",
             "--eval_dims", "64", "--fid_weights", inception_file]
    unbroken = run_script("train.py", "--name", "unbroken", *sean_train_flags(tmp_path, "--niter", "2", *extra))
    assert unbroken.returncode == 0, unbroken.stderr
    assert "Training was successfully finished: 2 epochs, 4 iterations" in unbroken.stdout
    first = run_script("train.py", "--name", "broken", *sean_train_flags(tmp_path, "--niter", "1", *extra))
    assert first.returncode == 0, first.stderr
    resumed = run_script("train.py", "--name", "broken", "--checkpoints_dir", tmp_path, "--continue_train",
                         "--niter", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "Training was successfully finished: 2 epochs, 4 iterations (2 this launch" in resumed.stdout
    folder = tmp_path / "broken"
    for label in ("G", "D", "G_ema"):
        assert_same_weights(tmp_path / "unbroken" / f"latest_net_{label}.pth", folder / f"latest_net_{label}.pth")
    assert (tmp_path / "unbroken" / "eval_log.txt").read_text() == (folder / "eval_log.txt").read_text()
    weights = load_weights(folder / "latest_net_G.pth")
    assert weights["head_0.ace_0.fc_mu18.weight"].shape == (16, 16) and "Zencoder.model.14.weight" in weights
    assert "n_layers_D: 3" in " ".join((folder / "opt.txt").read_text().split())

    data64 = REPO / "tests" / "fixtures" / "reference" / "data64"
    tested = run_script("test.py", "--name", "broken", "--checkpoints_dir", tmp_path, "--results_dir",
                        tmp_path / "results", "--load_from_opt_file", "--use_ema", "--compute_fid", "--eval_dims", "64",
                        "--fid_weights", inception_file, "--save_style_codes", "--compute_recon_metrics",
                        "--label_dir", data64 / "labels", "--image_dir", data64 / "images", "--max_dataset_size", "4")
    assert tested.returncode == 0, tested.stderr
    web_dir = tmp_path / "results" / "broken" / "test_latest_ema"  # --use_ema pictures have a folder of their own
    assert "FID" in (web_dir / "fid.txt").read_text() and "SSIM" in (web_dir / "recon_metrics.txt").read_text()
    assert len(list(web_dir.glob("style_codes/*/*/ACE.npy"))) > 4 * 10


def test_two_processes_train_sean(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(REPO / "train.py"), "--name", "ddp", *sean_train_flags(tmp_path, "--niter", "1", "--batchSize", "4")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Training was successfully finished: 1 epochs, 1 iterations" in result.stdout
    assert "head_0.ace_0.fc_mu0.weight" in load_weights(tmp_path / "ddp" / "latest_net_G.pth")

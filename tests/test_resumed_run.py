"""A run resumed twice with other flags: what each resume prints and records, and its plotted history.

The run: epoch 1 at --batchSize 2 (loss_log.txt only), epoch 2 resumed with --batchSize 8 --tf_log
--serial_batches, epoch 3 resumed with --batchSize 4. 16 samples, a loss line every 4 images.
"""
import csv

import pytest

from conftest import DATA64, FIXTURE_FLAGS, run_script, train_flags


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    checkpoints = tmp_path_factory.mktemp("resumed")
    launches = [["--niter", "1"],
                ["--continue_train", "--niter", "2", "--batchSize", "8", "--tf_log", "--serial_batches"],
                ["--continue_train", "--niter", "3", "--batchSize", "4"]]
    outputs = []
    for extra in launches:
        result = run_script("train.py", "--name", "run", *train_flags(checkpoints), *extra)
        assert result.returncode == 0, result.stderr
        outputs.append(result)
    return checkpoints / "run", outputs


def change_block(stdout):
    lines = stdout.splitlines()
    start = lines.index("options changed against the saved run:")
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("  --"):
            break
        block.append(line.strip())
    return block


def test_resume_prints_each_changed_flag_and_records_every_launch(resumed_run):
    folder, (first, second, third) = resumed_run
    assert "options changed" not in first.stdout
    assert change_block(second.stdout) == ["--batchSize: 2 -> 8", "--niter: 1 -> 2", "--serial_batches: False -> True",
                                           "--tf_log: False -> True"]
    assert change_block(third.stdout) == ["--batchSize: 8 -> 4", "--niter: 2 -> 3"]

    history = (folder / "options_history.txt").read_text().splitlines()
    assert [line.split("  ", 1)[1] for line in history] == [
        "start: new run, options in options.yaml",
        "resume at epoch 2, image 0 (iteration 8): --batchSize: 2 -> 8; --niter: 1 -> 2; "
        "--serial_batches: False -> True; --tf_log: False -> True",
        "resume at epoch 3, image 0 (iteration 10): --batchSize: 8 -> 4; --niter: 2 -> 3",
    ]
    # the progress bar and the summary count the same iterations: 8 + 2 + 4
    assert "Training was successfully finished: 3 epochs, 14 iterations (4 this launch" in third.stdout
    assert "14/14" in third.stderr and "80/80" not in third.stderr


def test_plot_merges_loss_log_and_events_at_the_logged_iterations_and_epochs(resumed_run, tmp_path):
    folder, _ = resumed_run
    prefix = tmp_path / "plots" / "run"
    result = run_script("scripts/plot_losses.py", folder, "--out", prefix, "--x", "epochs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == ("run: merged loss_log.txt (iterations 2-14) and "
                                             "logs/ TensorBoard events (iterations 9-14)")
    with open(prefix.with_suffix(".csv"), newline="") as file:
        gan = [row for row in csv.DictReader(file) if row["series"] == "GAN"]
    # launch 1: every 2nd iteration of 2 images; launch 2: every iteration of 8; launch 3: every iteration of 4
    assert [(row["iteration"], row["epoch"]) for row in gan] == [
        ("2", "0.25"), ("4", "0.5"), ("6", "0.75"), ("8", "1"),
        ("9", "1.5"), ("10", "2"),
        ("11", "2.25"), ("12", "2.5"), ("13", "2.75"), ("14", "3")]
    logged = [line for line in (folder / "loss_log.txt").read_text().splitlines() if line.startswith("(epoch")]
    assert [f"{float(row['value']):.3f}" for row in gan] == [line.split("GAN: ")[1].split()[0] for line in logged]
    assert prefix.with_suffix(".png").stat().st_size > 5000


def test_architecture_mismatch_names_the_saved_value_and_the_flag_to_pass(resumed_run, tmp_path):
    folder, _ = resumed_run
    result = run_script("test.py", "--name", "run", "--checkpoints_dir", folder.parent, *FIXTURE_FLAGS[2:7],
                        "--norm_mode", "clade", "--crop_size", "64", "--ngf", "16", "--label_dir", DATA64 / "labels", "--image_dir",
                        DATA64 / "images", "--gpu_ids", "-1", "--results_dir", tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("The run was saved with --ngf 8 where this command has --ngf 16: pass --ngf 8, or pass "
            "--load_from_opt_file to take the run's architecture.") in result.stderr


def test_test_py_load_from_opt_file_reads_the_runs_data(resumed_run, tmp_path):
    folder, _ = resumed_run
    result = run_script("test.py", "--name", "run", "--checkpoints_dir", folder.parent, "--load_from_opt_file",
                        "--gpu_ids", "-1", "--results_dir", tmp_path, "--how_many", "2")
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "run" / "test_latest" / "images" / "synthesized_image").iterdir())
    assert written == sorted(p.name for p in (DATA64 / "labels").iterdir())[:2]

"""docs/run_folder.md names every file that train.py (with TensorBoard, FID, EMA, VAE) and test.py write."""
import re

import pytest

from conftest import REPO, run_script, train_flags

DOCS = REPO / "docs" / "run_folder.md"
CODE_SPAN = re.compile(r"`([^`]+)`")


@pytest.fixture(scope="module")
def written_folders(tmp_path_factory, inception_file):
    """(run folder, result folder) of a run with TensorBoard, FID, weight averaging and the VAE, and its test."""
    root = tmp_path_factory.mktemp("documented")
    evaluation = ["--eval_dims", "64", "--fid_weights", inception_file]
    result = run_script("train.py", "--name", "run", *train_flags(root / "checkpoints"), "--max_dataset_size", "4",
                        "--niter", "1", "--tf_log", "--train_eval", "--eval_epoch_freq", "1", "--ema_decay", "0.9",
                        "--ema_bn_batches", "1", "--use_vae", *evaluation)
    assert result.returncode == 0, result.stderr
    result = run_script("test.py", "--name", "run", "--checkpoints_dir", root / "checkpoints", "--load_from_opt_file",
                        "--gpu_ids", "-1", "--results_dir", root / "results", "--how_many", "3", "--use_ema",
                        "--compute_fid", *evaluation)
    assert result.returncode == 0, result.stderr
    assert "note: an FID of 3 images is dominated by its small-sample bias" in result.stdout
    return root / "checkpoints" / "run", root / "results" / "run" / "test_latest_ema"


def files_in(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def documented_patterns(section_title: str) -> list[re.Pattern]:
    """The file patterns in the first column of the table under a '## <section_title>' heading."""
    section = DOCS.read_text().split(f"## {section_title}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.compile(pattern_regex(span)) for row in rows for span in CODE_SPAN.findall(row.split(" | ")[0])]


def pattern_regex(pattern: str) -> str:
    """`<epoch>` is any name, `{a,b}` one of the names, `*` any characters but '/'."""
    parts = []
    for token in re.split(r"(<[^>]+>|\{[^}]+\}|\*)", pattern):
        if token.startswith("<"):
            parts.append("[^/]+")
        elif token.startswith("{"):
            parts.append("(?:" + "|".join(pattern_regex(choice) for choice in token[1:-1].split(",")) + ")")
        elif token == "*":
            parts.append("[^/]*")
        else:
            parts.append(re.escape(token))
    return "".join(parts)


def undocumented(files: list[str], patterns: list[re.Pattern]) -> list[str]:
    return [name for name in files if not any(pattern.fullmatch(name) for pattern in patterns)]


def test_every_file_of_the_run_and_result_folders_is_documented(written_folders):
    run_files, result_files = map(files_in, written_folders)
    for expected in ("latest_net_E.pth", "best_net_G_ema.pth", "fid.txt", "eval_log.txt", "options_history.txt",
                     "dataset_check.txt", "fid_real_stats_64.npz"):
        assert expected in run_files
    assert any(name.startswith("logs/events.out.tfevents.") for name in run_files)
    assert "images/real_image/00000.png" in result_files and "fid.txt" in result_files
    assert undocumented(run_files, documented_patterns("Run folder")) == []
    assert undocumented(result_files, documented_patterns("Result folder")) == []
    # the check can fail: a file the docs do not name is found
    assert undocumented(["latest_net_X.pth", "web/other.html"], documented_patterns("Run folder")) == [
        "latest_net_X.pth", "web/other.html"]


def test_every_logged_loss_is_explained(written_folders):
    losses = DOCS.read_text().split("## Losses", 1)[1]
    explained = {CODE_SPAN.findall(line)[0] for line in losses.splitlines() if line.startswith("| `")}
    assert explained == {"KLD", "GAN", "GAN_Feat", "VGG", "D_Fake", "D_real", "FID"}
    lines = (written_folders[0] / "loss_log.txt").read_text().splitlines()
    logged = {name for line in lines if line.startswith("(epoch") and "iters" in line
              for name in re.findall(r"(\w+): ", line.split(") ", 1)[1])}
    assert logged == {"KLD", "GAN", "GAN_Feat", "D_Fake", "D_real"}  # VGG is off, FID has its own lines
    assert "docs/run_folder.md" in (REPO / "README.md").read_text()

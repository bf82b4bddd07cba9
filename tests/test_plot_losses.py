"""scripts/plot_losses.py and util/loss_log.py: figures, exact CSV numbers, resumes, TensorBoard, errors."""
import csv
import importlib.util

import numpy as np
import pytest

from conftest import FIXTURES, REPO, run_script
from util.loss_log import read_loss_log, read_run

REFERENCE_LOG = FIXTURES / "checkpoints" / "g_clade" / "loss_log.txt"
HEADER = "================ Training Loss (Sun Nov 22 09:45:39 2026) ================"


def logged_values(path):
    """{series: [values]} of the loss lines, read independently of util.loss_log."""
    values = {}
    for line in path.read_text().splitlines():
        if line.startswith("(epoch: ") and "iters: " in line:
            terms = line.split(") ", 1)[1].split()
            for name, value in zip(terms[::2], terms[1::2]):
                values.setdefault(name.rstrip(":"), []).append(float(value))
    return values


def read_csv_rows(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_reference_log_exports_figures_and_exact_csv(tmp_path):
    prefix = tmp_path / "plots" / "g_clade"
    result = run_script("scripts/plot_losses.py", REFERENCE_LOG, "--out", prefix, "--smooth", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["g_clade: read loss_log.txt (iterations 1-8)",
                                          f"wrote {prefix}.{{png,pdf,svg,csv}}: 4 losses, 1 run, 32 points"]
    for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
        data = prefix.with_suffix(suffix).read_bytes()
        assert data.startswith(magic) and len(data) > 5000, suffix

    rows = read_csv_rows(prefix.with_suffix(".csv"))
    assert list(rows[0]) == ["run", "series", "iteration", "epoch", "value"]
    expected = logged_values(REFERENCE_LOG)
    assert list(expected) == ["GAN", "GAN_Feat", "D_Fake", "D_real"]
    for name, values in expected.items():
        series_rows = [row for row in rows if row["series"] == name]
        assert len(series_rows) == 8  # the log's loss lines
        assert [float(row["value"]) for row in series_rows] == values
    first_feat = next(row for row in rows if row["series"] == "GAN_Feat")
    # epoch 1, iters 2 of a 16-image epoch at batchSize 2 (opt.txt): iteration 1, 1/8 epoch
    assert first_feat == {"run": "g_clade", "series": "GAN_Feat", "iteration": "1",
                          "epoch": "0.125", "value": "13.454"}


def test_resumed_log_keeps_the_later_values(tmp_path):
    log = tmp_path / "resumed" / "loss_log.txt"
    log.parent.mkdir()
    log.write_text("\n".join([
        HEADER,
        "(epoch: 1, iters: 4, time: 0.100) GAN: 1.000 D_real: 0.100 ",
        "(epoch: 1, iters: 8, time: 0.100) GAN: 2.000 D_real: 0.200 ",
        "(epoch: 2, iters: 4, time: 0.100) GAN: 3.000 D_real: 0.300 ",
        "(epoch: 2, iters: 8, time: 0.100) GAN: 4.000 D_real: 0.400 ",
        "(epoch: 3, iters: 4, time: 0.100) GAN: 5.000 D_real: 0.500 ",
        HEADER,  # resumed from the end of epoch 1: epoch 2 runs again
        "(epoch: 2, iters: 4, time: 0.100) GAN: 30.000 D_real: 0.030 ",
        "(epoch: 2, iters: 8, time: 0.100) GAN: 40.000 D_real: 0.040 ",
        "(epoch: 2, curr FID: 45.123, previous best FID: 1000.000) ",
        "some line written by another tool",
        "(epoch: 3, iters: 4, time: 0.100, FID: 45.123) GAN: 50.000 D_real: 0.050 ",
    ]) + "\n")

    history = read_loss_log(log)
    gan = history.series["GAN"]
    assert gan.value.tolist() == [1.0, 2.0, 30.0, 40.0, 50.0]
    assert history.series["D_real"].value.tolist() == [0.1, 0.2, 0.03, 0.04, 0.05]
    assert gan.epoch.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5]  # 8 images per epoch
    assert gan.iteration.tolist() == [1, 2, 3, 4, 5]  # batch size 4 from the iters values
    assert np.all(np.diff(gan.iteration) > 0)
    fid = history.series["FID"]
    assert (fid.epoch.tolist(), fid.iteration.tolist(), fid.value.tolist()) == ([2.0], [4.0], [45.123])


def test_tensorboard_folder_later_wall_time_wins(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    logs = tmp_path / "checkpoints" / "tb_run" / "logs"
    with SummaryWriter(logs) as writer:
        for step in (10, 20, 30):
            writer.add_scalar("loss/GAN", step / 10, step, walltime=1000 + step)
            writer.add_scalar("loss/D_real", step + 0.5, step, walltime=1000 + step)
            writer.add_scalar("lr/G", 2e-4, step, walltime=1000 + step)
        writer.add_scalar("eval/FID", 61.5, 30, walltime=1030)
    with SummaryWriter(logs, filename_suffix=".resumed") as writer:  # a resume logs step 30 again
        writer.add_scalar("loss/GAN", 7.0, 30, walltime=2030)

    history = read_run(logs.parent)
    assert history.run == "tb_run"
    assert list(history.series) == ["GAN", "D_real", "FID"]
    assert history.series["GAN"].iteration.tolist() == [10, 20, 30]
    assert history.series["GAN"].value.tolist() == pytest.approx([1.0, 2.0, 7.0])
    assert history.series["D_real"].value.tolist() == pytest.approx([10.5, 20.5, 30.5])
    assert history.series["FID"].value.tolist() == pytest.approx([61.5])
    assert np.isnan(history.series["GAN"].epoch).all()  # no loss_log.txt gives the epoch size

    assert history.to_csv(tmp_path / "tb.csv") == 7
    assert read_csv_rows(tmp_path / "tb.csv")[0] == {
        "run": "tb_run", "series": "GAN", "iteration": "10", "epoch": "", "value": "1"}


def assert_error(result, *fragments):
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def test_missing_input_names_the_path(tmp_path):
    missing = tmp_path / "checkpoints" / "nope"
    result = run_script("scripts/plot_losses.py", missing, "--out", tmp_path / "plot")
    assert_error(result, f"{missing} does not exist", "pass a loss_log.txt")


def test_log_without_loss_lines_names_the_file(tmp_path):
    log = tmp_path / "loss_log.txt"
    log.write_text(HEADER + "\n")
    result = run_script("scripts/plot_losses.py", log, "--out", tmp_path / "plot")
    assert_error(result, f"{log} holds no loss lines")
    assert not (tmp_path / "plot.csv").exists()


def test_unknown_loss_name_lists_the_logged_ones(tmp_path):
    result = run_script("scripts/plot_losses.py", REFERENCE_LOG, "--losses", "GAN", "VGG",
                        "--out", tmp_path / "plot")
    assert_error(result, "--losses VGG", "GAN, GAN_Feat, D_Fake, D_real")


def test_launch_lines_place_points_and_drop_what_a_killed_launch_logged_after_its_save(tmp_path):
    log = tmp_path / "killed" / "loss_log.txt"
    log.parent.mkdir()
    log.write_text("\n".join([
        HEADER,
        "(launch at epoch: 1, iters: 0, iteration: 0; batchSize: 2, images per epoch: 12)",
        "(epoch: 1, iters: 4, time: 0.1) GAN: 1.000 ",
        "(epoch: 1, iters: 8, time: 0.1) GAN: 2.000 ",
        "(epoch: 1, iters: 12, time: 0.1) GAN: 3.000 ",  # killed after this line; the last save was at image 4
        HEADER,
        "(launch at epoch: 1, iters: 4, iteration: 2; batchSize: 4, images per epoch: 12)",
        "(epoch: 1, iters: 12, time: 0.1) GAN: 30.000 ",
        "(epoch: 2, iters: 4, time: 0.1) GAN: 40.000 ",
        "(epoch: 2, curr FID: 45.123, previous best FID: inf) ",
    ]) + "\n")
    history = read_loss_log(log, batch_size=7)  # a wrong batch size given: the launch lines decide
    gan = history.series["GAN"]
    assert gan.iteration.tolist() == [2, 4, 5]
    assert gan.epoch.tolist() == pytest.approx([4 / 12, 1, 1 + 4 / 12])
    assert gan.value.tolist() == [1.0, 30.0, 40.0]
    fid = history.series["FID"]
    assert (fid.iteration.tolist(), fid.epoch.tolist()) == ([7.0], [2.0])


@pytest.mark.parametrize("count,grid", [(4, (2, 2)), (5, (2, 3)), (3, (1, 3)), (7, (3, 3))])
def test_panels_fill_the_grid_evenly_and_every_column_has_x_labels(count, grid):
    spec = importlib.util.spec_from_file_location("plot_losses", REPO / "scripts" / "plot_losses.py")
    plot_losses = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plot_losses)
    history = read_loss_log(REFERENCE_LOG)
    names = [f"loss{i}" for i in range(count)]
    history.series = {name: history.series["GAN"] for name in names}
    args = plot_losses.parse_args([str(REFERENCE_LOG)])
    figure = plot_losses.draw_figure([history], names, args)
    drawn = [ax for ax in figure.axes if ax.axison]
    assert len(drawn) == count and len(figure.axes) == grid[0] * grid[1]
    assert drawn[0].get_subplotspec().get_gridspec().get_geometry() == grid
    labelled_columns = {ax.get_subplotspec().colspan.start for ax in drawn if ax.get_xlabel() == "iterations"}
    assert labelled_columns == set(range(grid[1]))

"""Promise 2: reference checkpoints load strictly and test.py reproduces the reference's pictures."""
import numpy as np
import pytest

import test as test_entry
from conftest import DATA64, FIXTURE_FLAGS, FIXTURES, copy_reference_run, read_png

RUNS = {"g_spade": ["--norm_mode", "spade"], "g_clade": ["--norm_mode", "clade"]}


def run_test(name, tmp_path, batch_size, extra=()):
    copy_reference_run(name, tmp_path / "checkpoints")
    return test_entry.main([
        "--name", name, *FIXTURE_FLAGS, *RUNS[name], "--checkpoints_dir", tmp_path / "checkpoints",
        "--results_dir", tmp_path / "results", "--label_dir", DATA64 / "labels", "--image_dir", DATA64 / "images",
        "--batchSize", str(batch_size), *extra])


@pytest.mark.parametrize("name", sorted(RUNS))
@pytest.mark.parametrize("batch_size", [1, 3])
def test_pictures_match_reference(name, batch_size, tmp_path):
    web_dir = run_test(name, tmp_path, batch_size)
    reference = FIXTURES / "results" / name / "test_latest" / "images"
    stems = sorted(p.name for p in (reference / "synthesized_image").glob("*.png"))
    assert len(stems) == 16
    assert sorted(p.name for p in (web_dir / "images" / "synthesized_image").glob("*.png")) == stems
    for stem in stems:
        ours = read_png(web_dir / "images" / "synthesized_image" / stem)
        theirs = read_png(reference / "synthesized_image" / stem)
        difference = np.abs(ours - theirs)
        assert difference.max() <= 2 and difference.mean() < 0.5, stem
        assert np.array_equal(read_png(web_dir / "images" / "input_label" / stem),
                              read_png(reference / "input_label" / stem)), stem
    page = (web_dir / "index.html").read_text()
    assert f"Experiment = {name}, Phase = test, Epoch = latest" in page
    assert page.count("<h3>") == 16 and "images/synthesized_image/00015.png" in page


def test_how_many_limits_the_pictures(tmp_path):
    web_dir = run_test("g_clade", tmp_path, 4, ["--how_many", "5"])
    assert len(list((web_dir / "images" / "synthesized_image").glob("*.png"))) == 5
    assert len(list((web_dir / "images" / "input_label").glob("*.png"))) == 5

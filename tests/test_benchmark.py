"""scripts/benchmark.py runs a configuration and reports its figures (speed goals live in the benchmark itself)."""
import json

import pytest

from conftest import run_script


def test_benchmark_writes_figures(tmp_path):
    out = tmp_path / "figures.json"
    result = run_script("scripts/benchmark.py", "--preset", "toy-clade", "--iterations", "1", "--warmup", "1",
                        "--repeats", "2", "--json", out, "--batch", "2", "--peak_tflops", "0.5", "--", "--ngf", "8",
                        "--ndf", "8")
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["flags"][-8:] == ["--batchSize", "2", "--ngf", "8", "--ndf", "8", "--gpu_ids", "-1"]
    for phase in ("training", "inference"):
        seconds = figures[phase]["seconds_per_iteration"]
        assert 0 < seconds["min"] <= seconds["median"] <= seconds["max"]
        assert abs(figures[phase]["images_per_second"] - 2 / seconds["median"]) < 1e-6
        rate = figures[phase]["gflop_per_iteration"] / seconds["median"] / 1000
        assert figures[phase]["tflop_per_second"] == pytest.approx(rate)
        assert figures[phase]["model_flop_utilisation"] == pytest.approx(rate / 0.5)
    # a G step, a D step and the D step's own G forward: more than three generator forwards
    assert figures["training"]["gflop_per_iteration"] > 3 * figures["inference"]["gflop_per_iteration"] > 0
    # inference runs oneDNN's packed convolutions, which count as the generator's convolutions do
    assert figures["inference"]["gflop_per_iteration"] == pytest.approx(generator_gflop(64, 2, 8), rel=1e-6)
    assert figures["peak_memory_gib"]["cpu_rss"] > 0.1
    assert result.stdout.strip().splitlines()[-1].startswith("benchmark toy-clade: ")


def generator_gflop(size: int, batch: int, ngf: int) -> float:
    """Multiply-adds ×2 of the toy generator's convolutions, counted layer by layer from its widths."""
    def conv(channels_in, channels_out, pixels, kernel=3):
        return 2 * channels_in * channels_out * kernel * kernel * pixels

    widths = [16, 16, 16, 16, 8, 4, 2, 1]  # fc, head_0, G_middle_0/1, up_0 … up_3 outputs, in multiples of ngf
    sides = [size // 32, size // 32, size // 16, size // 16, size // 8, size // 4, size // 2, size]
    flops = conv(19, 16 * ngf, sides[0] ** 2)
    for fin, fout, side in zip(widths[:-1], widths[1:], sides[1:]):
        hidden = min(fin, fout) * ngf
        flops += conv(fin * ngf, hidden, side ** 2) + conv(hidden, fout * ngf, side ** 2)
        if fin != fout:
            flops += conv(fin * ngf, fout * ngf, side ** 2, kernel=1)
    flops += conv(ngf, 3, size ** 2)
    return batch * flops / 1e9

"""scripts/benchmark.py runs a configuration and reports its figures (speed goals live in the benchmark itself)."""
import json

from conftest import run_script


def test_benchmark_writes_figures(tmp_path):
    out = tmp_path / "figures.json"
    result = run_script("scripts/benchmark.py", "--preset", "toy-clade", "--iterations", "1", "--warmup", "1",
                        "--repeats", "2", "--json", out, "--", "--ngf", "8", "--ndf", "8", "--batchSize", "2")
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())
    assert figures["flags"][-8:] == ["--ngf", "8", "--ndf", "8", "--batchSize", "2", "--gpu_ids", "-1"]
    for phase in ("training", "inference"):
        seconds = figures[phase]["seconds_per_iteration"]
        assert 0 < seconds["min"] <= seconds["median"] <= seconds["max"]
        assert abs(figures[phase]["images_per_second"] - 2 / seconds["median"]) < 1e-6
    assert figures["peak_memory_gib"]["cpu_rss"] > 0.1
    assert result.stdout.strip().splitlines()[-1].startswith("benchmark toy-clade: ")

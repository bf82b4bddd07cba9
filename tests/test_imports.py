"""Start-up cost: train.py imports the heavy libraries (and PyTorch's compiler) only when a flag needs them."""
import json
import subprocess
import sys

from conftest import REPO, train_flags

HEAVY = ("torchvision", "scipy", "pytorch_fid", "tensorboard", "matplotlib", "torch._dynamo")
PROBE = ("import atexit, json, runpy, sys\n"
         "atexit.register(lambda: print('LOADED', json.dumps(sorted(m for m in {heavy} if m in sys.modules))))\n"
         "sys.argv = sys.argv[1:]\n"
         "runpy.run_path(sys.argv[0], run_name='__main__')\n").format(heavy=HEAVY)


def heavy_modules_loaded(*args) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, str(REPO / "train.py"), *map(str, args)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.rsplit("LOADED", 1)[1])


def test_a_plain_run_imports_none_of_the_heavy_libraries(tmp_path):
    flags = [*train_flags(tmp_path), "--max_dataset_size", "4", "--niter", "1"]
    assert heavy_modules_loaded("--name", "plain", *flags) == []
    assert heavy_modules_loaded("--name", "logged", *flags, "--tf_log") == ["tensorboard"]

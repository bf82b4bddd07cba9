#!/usr/bin/env bash
# GPU checks for a machine with CUDA GPUs: smoke runs of every GPU path on one GPU, bf16, fp16,
# channels-last and compile against fp32 on GPU 0 (tests/test_performance_paths.py), the multi-process
# checks under NCCL where there are two or more, then the test suite with its runs on GPU 0.
# Prints PASS/FAIL per check (with the tail of the log on failure) and one summary line.
#
#   bash scripts/gpu_check.sh              # all checks
#   SKIP_SUITE=1 bash scripts/gpu_check.sh # without the test suite (minutes shorter)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=${WORK:-$(mktemp -d)}
passed=0
failed=0

check() {  # check NAME COMMAND...: run, report, keep going
  local name=$1 started=$SECONDS
  shift
  if "$@" >"$WORK/$name.log" 2>&1; then
    echo "PASS $name ($((SECONDS - started)) s)"
    passed=$((passed + 1))
  else
    echo "FAIL $name ($((SECONDS - started)) s), last lines of $WORK/$name.log:"
    tail -n 8 "$WORK/$name.log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

gpus=$($PY -c "import torch; print(torch.cuda.device_count())")
if [ "${gpus:-0}" -lt 1 ]; then
  echo "error: no CUDA GPU is visible to $PY; run scripts/gpu_check.sh on a machine with one."
  exit 1
fi
$PY -c "import torch; print(f'torch {torch.__version__}, CUDA {torch.version.cuda}, ' + ', '.join(
    torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())))"

$PY scripts/make_demo_dataset.py --out "$WORK/demo" --num_train 32 --num_test 8 >/dev/null
$PY -c "import sys, torch; sys.path.insert(0, '.'); from util import fid; torch.manual_seed(0); \
torch.save(fid.fid_inception_trunk().state_dict(), '$WORK/inception.pth')"
DATA=(--dataset_mode custom --label_nc 19 --no_instance --load_size 64 --crop_size 64
      --label_dir "$WORK/demo/train/labels" --image_dir "$WORK/demo/train/images")
TRAIN=("${DATA[@]}" --ngf 16 --ndf 16 --batchSize 4 --niter 1 --no_vgg_loss --print_freq 8
       --checkpoints_dir "$WORK/checkpoints")
EVAL=(--train_eval --eval_dims 64 --fid_weights "$WORK/inception.pth" --ema_decay 0.99 --ema_bn_batches 2)

# one GPU: every path of train.py and test.py
for mode in spade clade; do
  check "fp32_$mode" $PY train.py --name "fp32_$mode" --norm_mode $mode "${TRAIN[@]}" --gpu_ids 0
done
check amp_bf16 $PY train.py --name amp_bf16 "${TRAIN[@]}" --gpu_ids 0 --use_amp --amp_dtype bf16
check amp_fp16 $PY train.py --name amp_fp16 "${TRAIN[@]}" --gpu_ids 0 --use_amp --amp_dtype fp16
check compile $PY train.py --name compile "${TRAIN[@]}" --gpu_ids 0 --compile
check channels_last $PY train.py --name channels_last "${TRAIN[@]}" --gpu_ids 0 --memory_format channels_last
check fid_and_ema $PY train.py --name fid_and_ema "${TRAIN[@]}" --gpu_ids 0 "${EVAL[@]}" --niter 2
check test_use_ema $PY test.py --name fid_and_ema --checkpoints_dir "$WORK/checkpoints" --load_from_opt_file \
  --use_ema --gpu_ids 0 --label_dir "$WORK/demo/test/labels" --image_dir "$WORK/demo/test/images" \
  --results_dir "$WORK/results"
check paths_agree_with_fp32 env TEST_GPU_IDS=0 $PY -m pytest -q -p no:cacheprovider tests/test_performance_paths.py
check gpu_run_resumed_on_cpu $PY train.py --name fp32_spade --checkpoints_dir "$WORK/checkpoints" \
  --continue_train --niter 2 --gpu_ids -1

# two or more GPUs: NCCL
if [ "$gpus" -ge 2 ]; then
  check nccl_one_process $PY train.py --name nccl_one "${TRAIN[@]}" --gpu_ids 0 --niter 2 --seed 3
  check nccl_two_processes $PY train.py --name nccl_two "${TRAIN[@]}" --gpu_ids 0,1 --niter 2 --seed 3
  check nccl_two_match_one $PY - "$WORK/checkpoints" <<'EOF'
import sys, torch
folder = sys.argv[1]
for label in ("G", "D"):
    one, two = (torch.load(f"{folder}/{name}/latest_net_{label}.pth", map_location="cpu") for name in ("nccl_one", "nccl_two"))
    worst = max((one[k].float() - two[k].float()).abs().max().item() for k in one if one[k].is_floating_point())
    print(label, "largest weight difference", worst)
    assert worst < 5e-3, (label, worst)
EOF
  check nccl_fid_and_ema $PY train.py --name nccl_eval "${TRAIN[@]}" --gpu_ids 0,1 "${EVAL[@]}" --niter 2
  check nccl_best_kept test -f "$WORK/checkpoints/nccl_eval/best_net_G.pth"
  check nccl_resume_on_one $PY train.py --name nccl_two --checkpoints_dir "$WORK/checkpoints" --continue_train \
    --niter 3 --gpu_ids 0
  check nccl_amp_bf16 $PY train.py --name nccl_bf16 "${TRAIN[@]}" --gpu_ids 0,1 --use_amp --amp_dtype bf16
else
  echo "SKIP NCCL checks: only one GPU"
fi

if [ -z "${SKIP_SUITE:-}" ]; then
  check test_suite env TEST_GPU_IDS=0 $PY -m pytest -q -x tests
fi
echo "gpu_check: $passed passed, $failed failed (logs in $WORK)"
[ "$failed" -eq 0 ]

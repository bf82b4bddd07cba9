#!/usr/bin/env bash
# GPU speed figures for the README: the reference's fp32 training step beside ours, then our fp32, bf16,
# bf16 channels-last and bf16 compiled steps, at 256² for CLADE and SPADE, batch 1 and 16, with peak
# memory and (for bf16) model FLOP utilisation against PEAK_TFLOPS, the GPU's dense bf16 peak.
#
#   REFERENCE=../CLADE PEAK_TFLOPS=989 bash scripts/gpu_speed.sh     # 989: H100/H200 SXM, bf16 dense
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
REFERENCE=${REFERENCE:?set REFERENCE to a checkout of github.com/tzt101/CLADE}
PEAK=${PEAK_TFLOPS:-0}
BF16=(--use_amp --amp_dtype bf16)

for preset in celebamaskhq-clade celebamaskhq-spade; do
  for batch in 1 16; do
    echo "== $preset, batch $batch"
    $PY scripts/benchmark.py --preset "$preset" --batch "$batch" --reference "$REFERENCE" --rounds 2 --iterations 5 \
      --warmup 2 | tail -n 6
    $PY scripts/benchmark.py --preset "$preset" --batch "$batch" | tail -n 4
    for extra in "" "--memory_format channels_last" "--compile"; do
      # shellcheck disable=SC2086
      $PY scripts/benchmark.py --preset "$preset" --batch "$batch" --peak_tflops "$PEAK" -- "${BF16[@]}" $extra | tail -n 4
    done
  done
done

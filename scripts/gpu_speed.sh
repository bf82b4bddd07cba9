#!/usr/bin/env bash
# GPU speed figures for the README, at 256² for CLADE and SPADE: the reference's fp32 training step
# beside ours (batch 1 and 16), then ours in bf16 (batch 1 and 16), bf16 channels-last and bf16
# compiled (batch 16), with peak memory and (for bf16) model FLOP utilisation against PEAK_TFLOPS,
# the GPU's dense bf16 peak. ROUNDS (default 1) sets the alternating rounds beside the reference.
#
#   REFERENCE=../CLADE PEAK_TFLOPS=989 bash scripts/gpu_speed.sh     # 989: H100/H200 SXM, bf16 dense
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
REFERENCE=${REFERENCE:?set REFERENCE to a checkout of github.com/tzt101/CLADE}
PEAK=${PEAK_TFLOPS:-0}
ROUNDS=${ROUNDS:-1}
TIMING=(--iterations 10 --warmup 3)
BF16=(--use_amp --amp_dtype bf16)

for preset in celebamaskhq-clade celebamaskhq-spade; do
  for batch in 1 16; do
    echo "== $preset, batch $batch: ours fp32 beside the reference's fp32"
    $PY scripts/benchmark.py --preset "$preset" --batch "$batch" --reference "$REFERENCE" --rounds "$ROUNDS" \
      "${TIMING[@]}" | tail -n 7
    variants=("")
    [ "$batch" -eq 16 ] && variants+=("--memory_format channels_last" "--compile")
    for extra in "${variants[@]}"; do
      echo "== $preset, batch $batch: ours bf16 $extra"
      # shellcheck disable=SC2086
      $PY scripts/benchmark.py --preset "$preset" --batch "$batch" --repeats 3 "${TIMING[@]}" --peak_tflops "$PEAK" \
        -- "${BF16[@]}" $extra | tail -n 4
    done
  done
done

#!/usr/bin/env bash
# Every GPU figure the 'gpu' issue asks for, in one run of at most 10 minutes on a lent GPU machine
# (which reaches no network): install what the machine lacks from the wheelhouse carried beside
# the code, run the GPU tests, time every GPU backend side by side with `wavenet bench` at
# B = 1, 16, 256 and 1024, and load a `wavenet serve --device cuda` with up to 200 concurrent
# streams (bench/server_load.py). A log, JSON and tables land in $OUT (default bench/gpu-out).
#
#   make gpu-wheels                  # on this side, once: bench/gpu-wheels (gitignored, about 25 MiB)
#   device tool: run(command="bash bench/gpu_check.sh", carry=["bench/gpu-wheels"], timeout_s=600)
#
# Without a GPU it runs its CPU half instead (the install, the kernel's interpreter tests, a short
# CPU bench and load test), which is how the script is tested before a lease: GPU_CHECK_CPU=1.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
PY=${PYTHON:-python3}
export PYTHONPATH=$PWD:$PWD/service  # the sources as they are: no build step (the native CPU backend is not needed here)
say() { echo; echo "== $(date -u +%T) $*"; }
failed=()
check() { local name=$1; shift; "$@" || failed+=("$name (exit $?)"); }

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
$PY -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())"
if [ "${GPU_CHECK_CPU:-0}" = 1 ] || ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    DEVICE=cpu
else
    DEVICE=cuda
fi
echo "device: $DEVICE"

say "install what is missing (from bench/gpu-wheels, no network)"
$PY -m pip install --quiet --no-index --find-links bench/gpu-wheels \
    soundfile safetensors tqdm pyyaml soxr fastapi uvicorn pydantic-settings prometheus-client mido \
    pytest httpx 2>&1 | tail -5
$PY -c "import triton; print('triton', triton.__version__)" || failed+=("triton missing")

if [ "$DEVICE" = cuda ]; then
    say "GPU tests: the fused kernel compiled, and the CUDA-graph backend (source-filter models too)"
    check tests $PY -m pytest -q -p no:cacheprovider --junitxml="$OUT/tests.xml" \
        tests/generation/test_fused.py tests/generation/test_exactness.py -k "fused or cuda"
    check tests-source $PY -m pytest -q -p no:cacheprovider --junitxml="$OUT/tests-source.xml" \
        tests/generation/test_source_filter.py -k "every_backend or cuda"
    say "wavenet bench: ref20 and the bundled models, every GPU backend side by side"
    check bench-ref20 $PY -m wavenet bench --device cuda --model ref20 --backends torch,cuda-graph,triton,triton-f16 \
        --batch 1,16,256,1024 --seconds 1 --repeats 3 --json "$OUT/bench-ref20.json"
    check bench-bundled $PY -m wavenet bench --device cuda --model checkpoints/speech-small,checkpoints/mel-vocoder \
        --backends cuda-graph,triton,triton-f16 --batch 1,16,256 --seconds 1 --repeats 3 --json "$OUT/bench-bundled.json"
    SERVE=(--device cuda --max-batch 256 --queue-size 64)
    STREAMS=1,16,64,100,128,200
    SECONDS_EACH=5
else
    say "CPU half: the kernel's tests through Triton's interpreter"
    check tests env TRITON_INTERPRET=1 $PY -m pytest -q -p no:cacheprovider --junitxml="$OUT/tests.xml" \
        tests/generation/test_fused.py
    check bench-cpu $PY -m wavenet bench --model debug --backends torch --batch 1 --seconds 0.5 --repeats 1 \
        --json "$OUT/bench-cpu.json"
    SERVE=(--backend torch --max-batch 4)
    STREAMS=1,2
    SECONDS_EACH=1
fi

say "server load: wavenet serve ${SERVE[*]} checkpoints/speech-small"
port=8765
$PY -m wavenet serve checkpoints/speech-small --port $port "${SERVE[@]}" > "$OUT/server.txt" 2>&1 &
server=$!
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || break
    sleep 1
done
curl -s "http://127.0.0.1:$port/models" > "$OUT/models.json" && cat "$OUT/models.json"; echo
check server-load $PY bench/server_load.py --url "http://127.0.0.1:$port" --streams $STREAMS \
    --seconds $SECONDS_EACH --json "$OUT/server-load.json"
kill $server; wait $server 2>/dev/null

say "done"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "all steps passed; results in $OUT"

#!/usr/bin/env bash
# Device check: on a machine with a GPU (no network needed), report the GPU backends found, run the micro and tiny
# golden parity tests on each, and a short ViT-B/32-geometry encoder benchmark on each (wasm in the same run as
# the baseline), then print ONE JSON line (the last line of stdout; progress goes to stderr). ≈ 8 minutes at most:
# every step has its own time limit and a step that runs out is reported, not fatal.
#
# Must be present (nothing is downloaded):
#   - this repository with `npm ci` done (ts-node, mocha, tfjs, wasm);
#   - for webgpu: `npm run webgpu:install` done (packages `webgpu` and `@tensorflow/tfjs-backend-webgpu`) and the
#     GPU vendor's Vulkan driver (ICD: /usr/share/vulkan/icd.d or /etc/vulkan/icd.d) plus libvulkan.so.1;
#   - for tfjs-node-gpu: the package installed with its CUDA/cuDNN libraries (optional);
#   - ../shared/reference/tiny for the tiny tier (micro's goldens are in the repository; tiny is skipped, and
#     reported as such, without it).
# Environment: GPU_CHECK_FORCE_WEBGPU=1 also runs webgpu on a software adapter (to test this script without a
# GPU; the bench then uses the small `--quick` geometry, as ViT-B/32 takes minutes per call on a software adapter). GPU_CHECK_OUT=FILE also writes the JSON line there.
#
#   bash tools/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
LOG=$(mktemp -d /tmp/gpu-check.XXXXXX)
say() { echo "gpu-check: $*" >&2; }
export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=8192"
TSN=(node node_modules/ts-node/dist/bin.js --transpile-only)
MOCHA=(node node_modules/mocha/bin/mocha.js)

# --- what the machine has
GPUS=$( (command -v nvidia-smi >/dev/null && timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) 2>/dev/null || true)
ICDS=$(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | grep '\.json$' | sort -u | tr '\n' ' ' || true)
LIBVULKAN=$(ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' && echo yes || echo no)
say "GPUs: ${GPUS:-none}; Vulkan ICDs: ${ICDS:-none}; libvulkan.so.1: $LIBVULKAN"
BACKENDS_JSON=null
if node bin/abe-clip.js --help 2>/dev/null | grep -qw backends; then
  timeout 90 node bin/abe-clip.js backends --json >"$LOG/backends.json" 2>"$LOG/backends.err" && BACKENDS_JSON=$(cat "$LOG/backends.json")
  say "abe-clip backends --json: $( [ "$BACKENDS_JSON" = null ] && echo failed || echo ok)"
else
  say "abe-clip backends: command not present in this build"
fi

# --- which GPU backends to run
timeout 60 "${TSN[@]}" tools/gpu-bench.ts --probe >"$LOG/probe.json" 2>"$LOG/probe.err" || true
PROBE=$(tail -n 1 "$LOG/probe.json" 2>/dev/null); [ -n "$PROBE" ] || PROBE='{"webgpu":null,"error":"probe timed out"}'
say "webgpu probe: $PROBE"
RUN=()
if node -e "const p=JSON.parse(process.argv[1]); process.exit(p.webgpu && (!p.webgpu.fallback || process.env.GPU_CHECK_FORCE_WEBGPU==='1') ? 0 : 1)" "$PROBE"; then RUN+=(webgpu); fi
if node -e "require('@tensorflow/tfjs-node-gpu')" >/dev/null 2>&1; then RUN+=(tfjs-node-gpu); fi
say "GPU backends to check: ${RUN[*]:-none}"
SOFT=$(node -e "const p=JSON.parse(process.argv[1]); console.log(p.webgpu && p.webgpu.fallback ? 1 : 0)" "$PROBE")

# Every step's limit is cut to what is left of the 470 s budget; with under 15 s left a step is skipped.
BUDGET=470
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
limit() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }

# mocha with the json reporter → {"passed":N,"failed":N,"seconds":S} (or a timeout/error note)
tier() { # name backend limit_s mocha-args...
  local name=$1 b=$2 lim; lim=$(limit "$3"); shift 3
  if [ "$lim" -lt 15 ]; then echo '{"skipped":"time budget spent"}'; return; fi
  local t=$(date +%s)
  ABE_TEST_BACKENDS=$b timeout "$lim" "${MOCHA[@]}" --reporter json "$@" >"$LOG/$name-$b.json" 2>"$LOG/$name-$b.err"
  local rc=$?
  node -e "
    const fs=require('fs'); let r={};
    try { const j=JSON.parse(fs.readFileSync(process.argv[1],'utf8')); r={passed:j.stats.passes,failed:j.stats.failures,
      failures:j.failures.slice(0,3).map(f=>f.fullTitle+': '+String(f.err.message||'').split('\n')[0])}; }
    catch { r={error: process.argv[2]==='124' ? 'timed out after '+process.argv[3]+' s' : 'no report (exit '+process.argv[2]+')'}; }
    r.seconds=Number(process.argv[4]); console.log(JSON.stringify(r));" "$LOG/$name-$b.json" "$rc" "$lim" "$(( $(date +%s) - t ))"
}
bench() { # backend limit_s args...
  local b=$1 lim; lim=$(limit "$2"); shift 2
  if [ "$lim" -lt 15 ]; then echo '{"skipped":"time budget spent"}'; return; fi
  timeout "$lim" "${TSN[@]}" tools/gpu-bench.ts --backend "$b" "$@" >"$LOG/bench-$b.json" 2>"$LOG/bench-$b.err"
  local rc=$?; local line; line=$(tail -n 1 "$LOG/bench-$b.json" 2>/dev/null)
  if [ $rc -eq 124 ]; then echo "{\"error\":\"timed out after $lim s\"}"; elif [ -n "$line" ]; then echo "$line"; else echo "{\"error\":\"exit $rc\"}"; fi
}

RESULTS="{}"
add() { RESULTS=$(node -e "const r=JSON.parse(process.argv[1]); (r[process.argv[2]] ??= {})[process.argv[3]]=JSON.parse(process.argv[4]); console.log(JSON.stringify(r))" "$RESULTS" "$1" "$2" "$3"); }
HAVE_TINY=0; [ -f ../shared/reference/tiny/golden.safetensors ] && HAVE_TINY=1
BENCH_ARGS=(--images 8 --texts 32 --repeats 3); [ "$SOFT" = 1 ] && BENCH_ARGS=(--quick --images 2 --texts 4 --repeats 1)
for b in "${RUN[@]}"; do
  say "$b: micro parity"; add "$b" micro "$(tier micro "$b" 120 -g "on micro goldens .$b," test/clip/model.test.ts)"
  if [ "$HAVE_TINY" = 1 ]; then
    say "$b: tiny parity"; add "$b" tiny "$(tier tiny "$b" 120 --config .mocharc.reference.json -g "reference tiny .* on $b," test/reference/clip.test.ts)"
  else add "$b" tiny '{"skipped":"../shared/reference/tiny not present"}'; fi
  say "$b: ViT-B/32 bench"; add "$b" bench "$(bench "$b" 100 "${BENCH_ARGS[@]}")"
done
if [ ${#RUN[@]} -gt 0 ]; then
  say "wasm: ViT-B/32 bench (baseline, same run)"; add wasm bench "$(bench wasm 90 "${BENCH_ARGS[@]}")"
fi

LINE=$(node -e "
  const [gpus, icds, libvk, backends, probe, results, secs] = process.argv.slice(1);
  console.log(JSON.stringify({ gpuCheck: 1, date: new Date().toISOString(), node: process.version,
    gpus: gpus.split('\n').filter(Boolean), vulkanIcds: icds.split(' ').filter(Boolean), libvulkan: libvk === 'yes',
    backendsJson: JSON.parse(backends), webgpuProbe: JSON.parse(probe), checked: Object.keys(JSON.parse(results)).filter(k => k !== 'wasm'),
    results: JSON.parse(results), seconds: Number(secs) }));" \
  "$GPUS" "$ICDS" "$LIBVULKAN" "$BACKENDS_JSON" "$PROBE" "$RESULTS" "$(( $(date +%s) - T0 ))")
[ -n "${GPU_CHECK_OUT:-}" ] && echo "$LINE" >"$GPU_CHECK_OUT"
say "logs in $LOG"
echo "$LINE"

#!/usr/bin/env bash
# Our training step on webgpu (tfjs-webgpu + our WGSL kernels, over Dawn and Vulkan) against PyTorch CUDA
# eager, fp32 and AMP fp16, on the same GPU machine, in one call. The bench model and batch are `mengzi bench train`'s
# (engine/train/bench.ts) and test/bench/train_torch.py's: BERT MLM, seq 128, batch 16 (A, B) or 32
# (BASE), 15% masked, Adam 1e-4, dropout off.
#
#   test/bench/gpu-vs-torch.sh prepare              here, after `npm ci`: writes .gpu-bench/ (git-ignored, < 64 MiB)
#   test/bench/gpu-vs-torch.sh run [A B BASE]       on the GPU machine, with .gpu-bench/ carried there
#       [--steps N] [--warmup N] [--budget S] [--json]   prints a table (JSON lines with --json)
#
# The recipe for a GPU machine with NVIDIA's driver but no Node, no internet and maybe no Vulkan loader
# (the lent H100s: `run` with carry [".gpu-bench"]):
#   1. Node: this machine's `node` binary, xz-compressed, unpacked there (glibc x86-64 is all it needs).
#   2. Our engine: one esbuild bundle of the bench step (tfjs inside) with the `webgpu` package's
#      dawn.node beside it (the bundle cannot hold a native addon).
#   3. The Vulkan loader and the glvnd libraries NVIDIA's Vulkan driver loads through: Debian's
#      libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libgles2 libopengl0 (`apt-get download`), unpacked
#      with `dpkg -x` into a folder on LD_LIBRARY_PATH (and ldconfig'd there).
#   4. NVIDIA's ICD: VK_ICD_FILENAMES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json when present.
#   5. PyTorch with CUDA from the machine's own python3 (train_torch.py --device cuda).
# Per config (BASE first: the issue's number), PyTorch fp32 then AMP fp16 (autocast + GradScaler), then
# ours in one process running each variant of VARIANTS in turn (gpu-bench-entry.ts: one device and
# pipeline cache for all, settings switched in-process), most telling first:
#   fused      our WGSL kernels as the engine runs them (its column: ms, then host ms spent recording
#              the step and dispatches per step)
#   fp16       --precision fp16: f16 inputs and storage, f32 accumulation, dynamic loss scaling ("n/a"
#              without shader-f16)
#   fp16-matrix  fp16 with the matrix units' kernel (matmul-matrix.ts: tensor cores) among the tuning's
#              candidates at each f16×f16→f32 shape the adapter offers (the ours process starts with
#              MENGZI_WEBGPU_MATRIX=1, which has Dawn offer them; the other fp16 variants leave them out);
#              its cell lists the shapes, the tuning table what each class chose
#   untuned    the product kernels not tuned on the device: every product on the 64×64 kernel (fused
#              and fp16 tune theirs after their first warm-up step, matmul-tune.ts; the report prints
#              each class's time with each kernel)
#   unsplit    split-K off (the dW products at BASE: 144 or 576 workgroups instead of 1,152)
#   qkv-apart  the Q, K, V projections as three dense layers, not one product (9 dispatches more per
#              layer at BASE's bench batch, 108 a step)
#   lanes      the attention with 4 threads per row (a quarter of each head row in registers; "rows"
#              where the adapter has no subgroups)
#   subgroups  the subgroup matrix product (G = lanes sharing each A block; "tiled" without subgroups)
#   wide       128×128 product tiles
#   wide-auto  128×128 tiles for products that make 512+ workgroups at that side, 64×64 for the rest
#   anew       every bind group made anew (as before steps found theirs again: its host ms says what
#              reuse saves with this CPU and driver)
#   submit64   submitting every 64 dispatches instead of once per step
#   pipelined  each loss read while the next step records, as the training loop does (PyTorch reads
#              loss.item() every step)
#   yield      waits for the GPU that poll as Dawn does for 1 ms, then once per millisecond, leaving a
#              core free (event-ticks.ts; on a GPU the default keeps Dawn's busy loop)
#   times-*    one step with each dispatch timed by the device (fp32, fp16, fp16 with the matrix
#              units, fp32 with the lanes)
#   stock      tfjs-webgpu's own kernels (last: slowest)
# test/bench/gpu-report.mjs turns the lines into the table row and the kernel-time tables. Timings are
# comparable only within one call. `--budget S` (default 480) bounds the whole run: nothing new starts
# after S seconds (a lent GPU's command runs at most 10 minutes, its session 15), and what did not run
# says "skipped"; then the product kernels alone at BASE's shapes, and the buffer pool over BASE steps
# of changing shapes (pool below), where time is left.
VARIANTS=fused,fp16,fp16-matrix,untuned,unsplit,qkv-apart,lanes,subgroups,wide,wide-auto,times-fp32,times-fp16,times-fp16-matrix,times-lanes,anew,submit64,pipelined,yield,stock
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.gpu-bench
DEBS=(libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libgles2 libopengl0)

prepare() {
  rm -rf "$OUT" && mkdir -p "$OUT/runtime/node_modules/webgpu/dist/linux-x64" "$OUT/debs"
  cp "$(readlink -f "$(command -v node)")" "$OUT/runtime/node"
  npx esbuild test/bench/gpu-bench-entry.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --external:@mengzi/native --outfile="$OUT/runtime/mengzi-bench.mjs" \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" --log-level=warning
  npx esbuild test/bench/webgpu-matmul.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --external:@mengzi/native --outfile="$OUT/runtime/mengzi-matmul.mjs" \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" --log-level=warning
  npx esbuild test/bench/webgpu-pool.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --external:@mengzi/native --outfile="$OUT/runtime/mengzi-pool.mjs" \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" --log-level=warning
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$OUT/runtime/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$OUT/runtime/node_modules/webgpu/dist/linux-x64/"
  tar -C "$OUT/runtime" -cf - . | xz -T0 -6 > "$OUT/runtime.tar.xz"
  rm -rf "$OUT/runtime"
  (cd "$OUT/debs" && apt-get download "${DEBS[@]}" >/dev/null)
  du -sh "$OUT"
}

run() {
  local configs=() steps=10 warmup=3 json=0 budget=480
  while [ $# -gt 0 ]; do
    case "$1" in
      --steps) steps=$2; shift ;;
      --warmup) warmup=$2; shift ;;
      --budget) budget=$2; shift ;;
      --json) json=1 ;;
      A|B|BASE) configs+=("$1") ;;
      *) echo "gpu-vs-torch.sh: unknown argument \"$1\"" >&2; exit 2 ;;
    esac
    shift
  done
  [ ${#configs[@]} -gt 0 ] || configs=(BASE A B)
  # past this time (epoch ms) nothing new starts: what ran is reported, the rest says "skipped"
  local deadline=$(( $(date +%s%3N) + budget * 1000 ))
  local work=/tmp/mengzi-gpu-bench
  rm -rf "$work" && mkdir -p "$work/root"
  xz -dc "$OUT/runtime.tar.xz" | tar -C "$work" -xf -
  if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    for deb in "$OUT"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
    export LD_LIBRARY_PATH="$work/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    ldconfig -n "$work/root/usr/lib/x86_64-linux-gnu" 2>/dev/null || true
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_ICD_FILENAMES="$icd"
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}" && mkdir -p -m 700 "$XDG_RUNTIME_DIR"
  # the last $2 lines of file $1 as one JSON string
  tail_json() { "$work/node" -e 'const fs = require("fs"); const [file, n] = process.argv.slice(1); const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""; console.log(JSON.stringify(text.trim().split("\n").slice(-Number(n)).join("\n")))' "$1" "$2"; }
  local torch_ok=1
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null || torch_ok=0
  local report=("$work/node" test/bench/gpu-report.mjs)
  for c in "${configs[@]}"; do
    local args=(--config "$c" --steps "$steps" --warmup "$warmup")
    local lines="$work/$c.jsonl"
    : > "$lines"
    for p in fp32 fp16; do
      if [ $torch_ok = 1 ] && [ "$(date +%s%3N)" -lt "$deadline" ]; then
        local result err="$work/$c.torch-$p.err"
        result=$(python3 test/bench/train_torch.py "${args[@]}" --device cuda --precision "$p" --json 2>"$err" | tail -1) || true
        if [[ "$result" == "{"* ]]; then
          echo "{\"torch\":\"$p\",\"result\":$result}" >> "$lines"
        else # a failed run prints no JSON line: its reason is the last line of its stderr (Python's exception)
          echo "{\"torch\":\"$p\",\"result\":null,\"error\":$(tail_json "$err" 1)}" >> "$lines"
        fi
      fi
    done
    # a variant that throws prints its own line; a process that dies (Dawn not loading, no adapter, out of
    # memory) leaves the end of its stderr for the report instead
    local code=0 err="$work/$c.ours.err"
    MENGZI_WEBGPU_MATRIX=1 "$work/node" "$work/mengzi-bench.mjs" "${args[@]}" --deadline "$deadline" --variants "$VARIANTS" 2>"$err" >> "$lines" || code=$?
    [ $code = 0 ] || echo "{\"oursExit\":$code,\"stderr\":$(tail_json "$err" 12)}" >> "$lines"
    local format=()
    [ $json = 1 ] && format=(--json)
    "${report[@]}" --config "$c" "${format[@]}" < "$lines"
  done
  # The product kernels alone at BERT-BASE's shapes (batch 32 × 128 = 4096 tokens; 616 masked rows for
  # the MLM decoder): stock, 64×64 tiles (scalar and vec4 loads; split-K as the engine chooses, and
  # unsplit), 128×128 tiles, subgroups, then fp16's inputs on the 64×64 kernel and on the matrix units
  # (each shape the adapter offers). Only with time left: on a GPU it takes about a minute.
  local sizes=4096x768x768:tB,4096x3072x768:tB,4096x768x3072:tB,4096x768x3072,3072x768x4096:tA,768x768x4096:tA,616x21128x768:tB,616x768x21128
  if [ "$(date +%s%3N)" -gt "$deadline" ]; then
    [ $json = 1 ] && echo null || printf '\nmatrix products: skipped (past the --budget)\n'
  elif [ $json = 1 ]; then
    MENGZI_WEBGPU_MATRIX=1 "$work/node" "$work/mengzi-matmul.mjs" --sizes "$sizes" --shares auto --json 2>/dev/null | tail -1 || echo null
  else
    echo
    MENGZI_WEBGPU_MATRIX=1 "$work/node" "$work/mengzi-matmul.mjs" --sizes "$sizes" --shares auto 2>"$work/matmul.err" ||
      { echo "matrix products: the bench failed; its stderr ended:"; tail -n 8 "$work/matmul.err"; }
  fi
  pool $json "$work" "$deadline"
}

# What tfjs-webgpu's buffer pool holds over a BASE training run whose batch lengths and masked counts
# change every step, bounded (buffer-pool.ts) and not, each in a fresh process (test/bench/webgpu-pool.ts):
# the time it costs a GPU to make buffers again. Tuning off: it is not what this measures.
pool() {
  local json=$1 work=$2 deadline=$3
  if [ "$(date +%s%3N)" -gt "$deadline" ]; then
    [ "$json" = 1 ] && echo null || printf '\nbuffer pool: skipped (past the --budget)\n'
    return
  fi
  local args=(--model BASE --batch 32 --max-length 128 --steps 12)
  [ "$json" = 1 ] && args+=(--json) || echo
  MENGZI_WEBGPU_MATMUL_TUNE=0 "$work/node" "$work/mengzi-pool.mjs" "${args[@]}" 2>"$work/pool.err" ||
    { echo "buffer pool: the bench failed; its stderr ended:"; tail -n 8 "$work/pool.err"; }
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac

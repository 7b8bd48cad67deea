#!/usr/bin/env bash
# Our training step on webgpu (tfjs-webgpu + our WGSL kernels, over Dawn and Vulkan) against PyTorch CUDA
# eager, fp32 and AMP fp16, on the same GPU machine, in one call. The bench model and batch are `mengzi bench train`'s
# (engine/train/bench.ts) and test/bench/train_torch.py's: BERT MLM, seq 128, batch 16 (A, B) or 32
# (BASE), 15% masked, Adam 1e-4, dropout off.
#
#   test/bench/gpu-vs-torch.sh prepare              here, after `npm ci`: writes .gpu-bench/ (git-ignored, < 64 MiB)
#   test/bench/gpu-vs-torch.sh run [A B BASE]       on the GPU machine, with .gpu-bench/ carried there
#       [--steps N] [--warmup N] [--json]           prints a table (JSON lines with --json)
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
# Both engines run one after the other per config, ours with stock tfjs-webgpu kernels
# (MENGZI_WEBGPU_KERNELS=0), with ours (the tiled matrix product), and with ours using the subgroup
# matrix product (MENGZI_WEBGPU_MATMUL_SUBGROUPS=1; its column says "tiled" where the adapter has no
# subgroups, G = lanes sharing each A block otherwise), with ours submitting every 64 dispatches
# instead of once per step (--submit-every 64: the GPU starts while the step is still being recorded),
# with ours making every bind group anew (MENGZI_WEBGPU_BIND_GROUP_REUSE=0, as before steps found
# theirs again: its host ms says what the reuse saves on this machine's CPU and driver),
# with ours never splitting a product's k (MENGZI_WEBGPU_MATMUL_SPLITK=0: the dW products at BASE run
# 144 or 576 workgroups instead of 1,152; the column says what split-K gains), with the attention
# kernels running 4 threads per row (MENGZI_WEBGPU_ATTENTION_LANES=1: a quarter of each head row in
# registers per thread; "rows" in its column where the adapter has no subgroups),
# with ours reading each loss while the next step records (--pipelined, as the training loop does; a
# step's time runs from one loss landing to the next; PyTorch's column reads loss.item() every step),
# and with ours in fp16 (--precision fp16: f16 inputs and storage, f32 accumulation, dynamic loss
# scaling; "n/a" without shader-f16). Our kernels' column also gives the host's share: ms per step this
# thread spent recording the step (not waiting for the GPU), and dispatches per step. PyTorch runs
# fp32 and fp16 AMP (autocast + GradScaler). Timings are comparable only within one call. After the
# table, the GPU's time per kernel in one step of ours, fp32 and fp16 (`--kernel-times`).
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
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$OUT/runtime/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$OUT/runtime/node_modules/webgpu/dist/linux-x64/"
  tar -C "$OUT/runtime" -cf - . | xz -T0 -6 > "$OUT/runtime.tar.xz"
  rm -rf "$OUT/runtime"
  (cd "$OUT/debs" && apt-get download "${DEBS[@]}" >/dev/null)
  du -sh "$OUT"
}

run() {
  local configs=() steps=10 warmup=3 json=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --steps) steps=$2; shift ;;
      --warmup) warmup=$2; shift ;;
      --json) json=1 ;;
      A|B|BASE) configs+=("$1") ;;
      *) echo "gpu-vs-torch.sh: unknown argument \"$1\"" >&2; exit 2 ;;
    esac
    shift
  done
  [ ${#configs[@]} -gt 0 ] || configs=(A B BASE)
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
  local torch_ok=1
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null || torch_ok=0
  [ $json = 1 ] || printf '| config | PyTorch CUDA fp32 ms/step | PyTorch AMP fp16 | ours, stock tfjs-webgpu kernels | ours, our WGSL kernels (host ms, dispatches) | ours, bind groups made anew (host ms) | ours, no split-K | ours, attention 4 threads per row | ours, submit every 64 | ours, pipelined | ours, subgroup product | ours, 128×128 tiles | ours, fp16 | ours / PyTorch fp32 | ours fp16 / PyTorch fp32 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
  local bench=("$work/node" "$work/mengzi-bench.mjs")
  for c in "${configs[@]}"; do
    local torch='null' amp='null' stock fused anew whole lanes early piped sub wide half
    local args=(--config "$c" --steps "$steps" --warmup "$warmup")
    if [ $torch_ok = 1 ]; then
      torch=$(python3 test/bench/train_torch.py "${args[@]}" --device cuda --json | tail -1)
      amp=$(python3 test/bench/train_torch.py "${args[@]}" --device cuda --precision fp16 --json | tail -1) || amp='null'
    fi
    stock=$(MENGZI_WEBGPU_KERNELS=0 "${bench[@]}" "${args[@]}" | tail -1)
    fused=$("${bench[@]}" "${args[@]}" | tail -1)
    anew=$(MENGZI_WEBGPU_BIND_GROUP_REUSE=0 "${bench[@]}" "${args[@]}" | tail -1)
    whole=$(MENGZI_WEBGPU_MATMUL_SPLITK=0 "${bench[@]}" "${args[@]}" | tail -1)
    lanes=$(MENGZI_WEBGPU_ATTENTION_LANES=1 "${bench[@]}" "${args[@]}" | tail -1)
    early=$("${bench[@]}" "${args[@]}" --submit-every 64 | tail -1)
    piped=$("${bench[@]}" "${args[@]}" --pipelined | tail -1)
    sub=$(MENGZI_WEBGPU_MATMUL_SUBGROUPS=1 "${bench[@]}" "${args[@]}" | tail -1)
    wide=$(MENGZI_WEBGPU_MATMUL_TILE=128 "${bench[@]}" "${args[@]}" | tail -1)
    # fp16 needs shader-f16: an adapter without it is a row entry, not a failed script
    half=$("${bench[@]}" "${args[@]}" --precision fp16 2>/dev/null | tail -1) || half='null'
    if [ $json = 1 ]; then
      printf '{"config":"%s","torch":%s,"torchAmp":%s,"stock":%s,"fused":%s,"bindGroupsAnew":%s,"unsplit":%s,"attentionLanes":%s,"submitEvery64":%s,"pipelined":%s,"subgroups":%s,"wide":%s,"fp16":%s}\n' "$c" "$torch" "$amp" "$stock" "$fused" "$anew" "$whole" "$lanes" "$early" "$piped" "$sub" "$wide" "$half"
    else
      "$work/node" -e '
        const [c, t, a, s, f, n, k, l, e, p, g, w, h] = process.argv.slice(1).map((x, i) => (i === 0 ? x : JSON.parse(x)))
        const ms = (r, none = "n/a (no CUDA torch)") => (r ? r.medianStepMs.toFixed(1) : none)
        const sg = `${ms(g)} (${g.matmulSubgroups ? "G " + g.matmulSubgroups : "tiled: no subgroups"})`
        const ratio = (r) => (t && r ? (r.medianStepMs / t.medianStepMs).toFixed(1) + "×" : "n/a")
        const host = (r) => `${ms(r)} (${r.medianHostMs.toFixed(1)}, ${r.gpuWork.dispatches})`
        const hostOnly = (r) => `${ms(r)} (${r.medianHostMs.toFixed(1)})`
        console.log(`| ${c} | ${ms(t)} | ${ms(a)} | ${ms(s)} | ${host(f)} | ${hostOnly(n)} | ${ms(k)} | ${ms(l)}${l.attentionLanes ? "" : " (rows: no subgroups)"} | ${ms(e)} | ${ms(p)} | ${sg} | ${ms(w)} | ${ms(h, "n/a (no shader-f16)")} | ${ratio(f)} | ${ratio(h)} |`)
        if (c === "A" || !process.env.QUIET) console.error(`adapter: ${f.backendDetail}`)' "$c" "$torch" "$amp" "$stock" "$fused" "$anew" "$whole" "$lanes" "$early" "$piped" "$sub" "$wide" "$half"
    fi
  done
  # Where our GPU time goes: one step with each dispatch timed by the device (timestamp queries), fp32,
  # fp16 and fp32 with the attention's 4 threads per row (fp32-lanes), per config. "n/a" where the adapter has no timestamp-query (or no shader-f16).
  for c in "${configs[@]}"; do
    for p in fp32 fp16 fp32-lanes; do
      local times lanes_env=0
      [ "$p" = fp32-lanes ] && lanes_env=1
      times=$(MENGZI_WEBGPU_ATTENTION_LANES=$lanes_env "${bench[@]}" --config "$c" --steps 1 --warmup 2 --precision "${p%-lanes}" --kernel-times 2>/dev/null | tail -1) || times='null'
      if [ $json = 1 ]; then
        printf '{"config":"%s","precision":"%s","kernelTimes":%s}\n' "$c" "$p" "$(echo "$times" | "$work/node" -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.stringify(JSON.parse(s)?.kernelTimes ?? null)))')"
      else
        "$work/node" -e '
          const [c, p, r] = [process.argv[1], process.argv[2], JSON.parse(process.argv[3])]
          const t = r?.kernelTimes
          if (!t) { console.log(`\nkernel times, ${c} ${p}: n/a`); process.exit(0) }
          console.log(`\nkernel times, ${c} ${p}: ${t.totalMs.toFixed(2)} ms of GPU time in one step (each dispatch in its own pass; untimed step ${r.medianStepMs.toFixed(1)} ms), top 15\n| kernel | dispatches | GPU ms | share |\n|---|---|---|---|`)
          for (const k of t.kernels.slice(0, 15)) console.log(`| ${k.kernel} | ${k.dispatches} | ${k.ms.toFixed(3)} | ${((100 * k.ms) / t.totalMs).toFixed(1)}% |`)' "$c" "$p" "$times"
      fi
    done
  done
  # The product kernels alone at BERT-BASE's shapes (batch 32 × 128 = 4096 tokens; 616 masked rows for
  # the MLM decoder): stock, 64×64 tiles (scalar and vec4 loads; split-K as the engine chooses, and
  # unsplit), 128×128 tiles, subgroups.
  local sizes=4096x768x768:tB,4096x3072x768:tB,4096x768x3072:tB,4096x768x3072,3072x768x4096:tA,768x768x4096:tA,616x21128x768:tB
  if [ $json = 1 ]; then
    "$work/node" "$work/mengzi-matmul.mjs" --sizes "$sizes" --shares auto --json 2>/dev/null | tail -1 || echo null
  else
    echo
    "$work/node" "$work/mengzi-matmul.mjs" --sizes "$sizes" --shares auto 2>/dev/null || echo "matrix products: the bench failed"
  fi
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac

// Whether the model's ops use our fused WGSL kernels on webgpu (default) or tfjs-webgpu's stock
// compositions (MENGZI_WEBGPU_KERNELS=0, or off for a test that compares the two).
import * as tf from '@tensorflow/tfjs'

let fusedOn = process.env.MENGZI_WEBGPU_KERNELS !== '0'

/** Turns the fused webgpu kernels on or off; returns the previous setting. */
export function setWebgpuFusedKernels(on: boolean): boolean {
  const previous = fusedOn
  fusedOn = on
  return previous
}

export function webgpuFusedKernelsOn(): boolean {
  return fusedOn
}

export type MatmulInputs = 'f32' | 'f16'
let matmulInputs: MatmulInputs = 'f32'

/**
 * fp16 mixed precision (train config `precision: "fp16"`): the inputs of the tiled matrix product are
 * rounded to f16 as they load (values beyond f16's range become ±Infinity, as an f16 store would make
 * them, which the loss scaler sees), products accumulate in f32. Returns the previous setting.
 */
export function setMatmulInputs(precision: MatmulInputs): MatmulInputs {
  const previous = matmulInputs
  matmulInputs = precision
  return previous
}

export function matmulInputsPrecision(): MatmulInputs {
  return matmulInputs
}

let halfStorageWanted = true

/**
 * With f16 inputs, whether they are also stored in f16 (half.ts): packed copies of the weights that the
 * products read and of the dense layers' inputs kept for backward, the same numbers in half the bytes.
 * Off: the products round f32 as it loads (the earlier fp16, kept to check the two agree). Returns the previous setting.
 */
export function setHalfStorage(on: boolean): boolean {
  const previous = halfStorageWanted
  halfStorageWanted = on
  return previous
}

/** True while fp16 inputs are on and stored in f16. */
export function halfStorageOn(): boolean {
  return matmulInputs === 'f16' && halfStorageWanted
}

// Kernel variants a test or benchmark turns off to exercise (or time) the path without them: vec4
// loads in the tiled product (used where the inner dimension is a multiple of 4; ragged shapes always
// load scalars) and subgroup operations in workgroup reductions (used where the device has 'subgroups').
let vec4Loads = true
let subgroupsWanted = true

/** Turns the product's vec4 loads and stores on or off; returns the previous setting. */
export function setMatmulVec4(on: boolean): boolean {
  const previous = vec4Loads
  vec4Loads = on
  return previous
}

export function matmulVec4On(): boolean {
  return vec4Loads
}

/** Allows or forbids subgroup operations (still only where the device has the feature); returns the previous setting. */
export function setWebgpuSubgroups(on: boolean): boolean {
  const previous = subgroupsWanted
  subgroupsWanted = on
  return previous
}

export function webgpuSubgroupsWanted(): boolean {
  return subgroupsWanted
}

/**
 * The matrix product's subgroup kernel (matmul-subgroups.ts), off by default until a GPU has timed it
 * against the tiled kernel (test/bench/webgpu-matmul.ts, gpu-vs-torch.sh). true: where the device has
 * 'subgroups' (and subgroups are allowed above), each A block shared by min(16, the adapter's smallest
 * subgroup) lanes; 4, 8 or 16: that many lanes (tests and benchmarks). MENGZI_WEBGPU_MATMUL_SUBGROUPS=1
 * (or 4, 8, 16) turns it on for a process.
 */
export type MatmulSubgroups = boolean | 4 | 8 | 16

function matmulSubgroupsFromEnv(text: string | undefined): MatmulSubgroups {
  if (text === '1') return true
  if (text === '4' || text === '8' || text === '16') return Number(text) as 4 | 8 | 16
  return false
}

let matmulSubgroups = matmulSubgroupsFromEnv(process.env.MENGZI_WEBGPU_MATMUL_SUBGROUPS)

/** Turns the product's subgroup kernel on (true, or lanes per shared A block) or off; returns the previous setting. */
export function setMatmulSubgroups(on: MatmulSubgroups): MatmulSubgroups {
  const previous = matmulSubgroups
  matmulSubgroups = on
  return previous
}

export function matmulSubgroupsSetting(): MatmulSubgroups {
  return matmulSubgroups
}

/**
 * The product on the GPU's matrix units (matmul-matrix.ts: tensor cores through Vulkan's cooperative
 * matrices, Dawn's chromium-experimental-subgroup-matrix), for fp16 products only, off by default until
 * a GPU has run it. true: where the adapter offers f16 × f16 → f32 subgroup matrices, each shape is a
 * candidate when products are tuned on the device (the tuner checks its values against the 64×64
 * kernel's within MATRIX_TOLERANCE, then times it). MENGZI_WEBGPU_MATRIX=1 turns it on for a process,
 * and only then is Dawn opened with allow_unsafe_apis, which its experimental features need. `emulate`:
 * the same kernel with plain WGSL for the matrix built-ins at the shapes given, on any adapter with
 * subgroups and shader-f16 (tests).
 */
export type MatmulMatrix = boolean | { emulate: readonly { M: number; N: number; K: number }[] }

/** Whether MENGZI_WEBGPU_MATRIX=1 was set when the process started (Dawn's instance is made once, with or without the unsafe APIs). */
export const matrixAtStart = process.env.MENGZI_WEBGPU_MATRIX === '1'
let matmulMatrix: MatmulMatrix = matrixAtStart

/** Sets the matrix-unit kernel's setting; returns the previous one. */
export function setMatmulMatrix(setting: MatmulMatrix): MatmulMatrix {
  const previous = matmulMatrix
  matmulMatrix = setting
  return previous
}

export function matmulMatrixSetting(): MatmulMatrix {
  return matmulMatrix
}

/**
 * The tiled product's tile side (the subgroup kernel, where on, keeps 64): 64, or 128 for the wide
 * kernel (matmul-wide.ts: four 4×4 blocks per invocation, half the workgroup-memory reads per FMA),
 * or 'auto': 128 for products with enough workgroups at that side (matmul.ts WIDE_AUTO_WORKGROUPS), 64
 * for the rest (the two give the same bits, so the choice changes time only). 128 and auto are off
 * until a GPU has timed them. MENGZI_WEBGPU_MATMUL_TILE=128 (or auto) turns one on for a process.
 */
export type MatmulTile = 64 | 128 | 'auto'

const tileFromEnv = process.env.MENGZI_WEBGPU_MATMUL_TILE
let matmulTile: MatmulTile = tileFromEnv === '128' ? 128 : tileFromEnv === 'auto' ? 'auto' : 64

/** Sets the tiled product's tile side; returns the previous one. */
export function setMatmulTile(tile: MatmulTile): MatmulTile {
  const previous = matmulTile
  matmulTile = tile
  return previous
}

export function matmulTileSetting(): MatmulTile {
  return matmulTile
}

/**
 * Tuning the products' kernels on the device (matmul-tune.ts): each class of product the step records
 * is replayed with every kernel that gives the same bits (64×64 tiles, 128×128 tiles, the subgroup
 * kernel at each G the adapter's subgroups allow), checked bit for bit against the 64×64 kernel and
 * timed, and the fastest runs from then on; the training loops tune between steps. 'auto' (the
 * default): on for a hardware adapter, off for a software one; it stands aside while the tile or
 * subgroup setting above asks for a kernel. MENGZI_WEBGPU_MATMUL_TUNE=0, 1 or auto sets it for a process.
 */
export type MatmulTuning = 'auto' | boolean

/** MENGZI_WEBGPU_MATMUL_TUNE's value ('auto' when unset); a one-line reason for anything else. */
export function tuningFromEnv(text: string | undefined): MatmulTuning {
  if (text === undefined || text === '' || text === 'auto') return 'auto'
  if (text === '0' || text === '1') return text === '1'
  throw new Error(`MENGZI_WEBGPU_MATMUL_TUNE: expected 0 (off), 1 (on) or auto; got "${text}"`)
}

// 'auto' until the backend starts (start.ts), which applies MENGZI_WEBGPU_MATMUL_TUNE or refuses a bad one with its reason
let matmulTuning: MatmulTuning = 'auto'

/** Sets whether products are tuned on the device; returns the previous setting. */
export function setMatmulTuning(setting: MatmulTuning): MatmulTuning {
  const previous = matmulTuning
  matmulTuning = setting
  return previous
}

export function matmulTuningSetting(): MatmulTuning {
  return matmulTuning
}

/**
 * Whether products are tuned on an adapter (`software`: why it is a software one, or null): the
 * setting is on, or 'auto' and the adapter is hardware (on lavapipe a replay of a large product takes
 * seconds, and its times say nothing about a GPU), and no kernel is asked for by the subgroup or tile
 * setting (tests and benchmarks that force one).
 */
export function matmulTuningApplies(software: string | null): boolean {
  const on = matmulTuning === 'auto' ? software === null : matmulTuning
  return on && matmulSubgroups === false && matmulTile === 64
}

/**
 * Where tuned choices are kept between processes (matmul-tune-cache.ts), or null: each process tunes
 * afresh. The workbench's training workers keep them in <home>/cache/webgpu-matmul-tuning.json;
 * MENGZI_WEBGPU_TUNING_CACHE=<file> sets the file for a process, and 0 turns the cache off.
 */
let tuningCache: string | null = null

/** MENGZI_WEBGPU_TUNING_CACHE's value: a file, or null for 0 (off). */
export function tuningCacheFromEnv(text: string): string | null {
  return text === '0' || text === '' ? null : text
}

/** Sets the tuning cache's file (null: none); returns the previous one. */
export function setMatmulTuningCache(file: string | null): string | null {
  const previous = tuningCache
  tuningCache = file
  return previous
}

export function matmulTuningCacheFile(): string | null {
  return tuningCache
}

/**
 * The flash-attention kernels with several threads per row (attention-lanes.ts: 4 lanes each holding a
 * quarter of the head's columns, dot products summed across them by subgroup shuffles), off by default
 * until a GPU has timed them against one thread per row (attention.ts), whose 64-float rows (four of
 * them per dK/dV thread at head size 64) may not fit a GPU thread's registers. Used where the device
 * has 'subgroups' and the head size is a multiple of 8. MENGZI_WEBGPU_ATTENTION_LANES=1 turns them on.
 */
let attentionLanes = process.env.MENGZI_WEBGPU_ATTENTION_LANES === '1'

/** Turns the lane attention kernels on or off; returns the previous setting. */
export function setAttentionLanes(on: boolean): boolean {
  const previous = attentionLanes
  attentionLanes = on
  return previous
}

export function attentionLanesWanted(): boolean {
  return attentionLanes
}

/**
 * Self-attention's query, key and value projections as one product with the attention core (webgpu
 * qkv-attention.ts, ops/attention.ts fusedSelfAttention), on by default where it applies (not under f16
 * storage); MENGZI_WEBGPU_QKV=0 keeps the three dense layers apart (the GPU script's comparison).
 */
let qkvFusion = process.env.MENGZI_WEBGPU_QKV !== '0'

/** Turns the fused Q, K, V projections on or off; returns the previous setting. */
export function setQkvFusion(on: boolean): boolean {
  const previous = qkvFusion
  qkvFusion = on
  return previous
}

export function qkvFusionOn(): boolean {
  return qkvFusion
}

/**
 * Split-K for products with few output tiles and a long k (the dW products: at BASE, 768×768 outputs
 * are 144 tiles of 64×64 summed over 4,096 tokens, too few workgroups to fill a GPU of 100+ cores):
 * each of S workgroups per tile sums a chunk of k into its own partial product, and one more pass adds
 * the S partials in a fixed order (deterministic; no atomics). 'auto' (the default) splits where a
 * product has under SPLIT_TARGET_WORKGROUPS workgroups and at least 2 chunks of SPLIT_MIN_CHUNK k;
 * false never splits; a number forces that many chunks wherever a product may split (tests, benchmarks).
 * MENGZI_WEBGPU_MATMUL_SPLITK=0 turns it off for a process, =N forces N.
 */
export type MatmulSplitK = 'auto' | false | number

/** MENGZI_WEBGPU_MATMUL_SPLITK's value ('auto' when unset); a one-line reason for anything else. */
export function splitKFromEnv(text: string | undefined): MatmulSplitK {
  if (text === undefined || text === '' || text === 'auto') return 'auto'
  if (text === '0') return false
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 2) {
    throw new Error(`MENGZI_WEBGPU_MATMUL_SPLITK: expected 0 (off), auto, or a number of k chunks, 2 or more; got "${text}"`)
  }
  return n
}

// 'auto' until the backend starts (start.ts), which applies MENGZI_WEBGPU_MATMUL_SPLITK or refuses a bad one with its reason
let matmulSplitK: MatmulSplitK = 'auto'

/** Sets the product's split-K ('auto', off, or a forced number of chunks); returns the previous setting. */
export function setMatmulSplitK(setting: MatmulSplitK): MatmulSplitK {
  if (typeof setting === 'number') splitKFromEnv(String(setting))
  const previous = matmulSplitK
  matmulSplitK = setting
  return previous
}

export function matmulSplitKSetting(): MatmulSplitK {
  return matmulSplitK
}

/**
 * How many dispatches tfjs-webgpu records before it submits its command buffer (its
 * WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE). The default, 1000, submits a training step once, at the loss
 * read (fewest submissions; on an H100 with stock kernels 1000 beat tfjs's own 15, TFJS-NOTES); a
 * smaller interval lets the GPU start on a step's first kernels while the rest are still being
 * recorded, at the cost of more submissions. Which wins on a GPU is for gpu-vs-torch.sh to measure.
 * MENGZI_WEBGPU_SUBMIT_EVERY=N sets it for a process.
 */
export const DEFAULT_SUBMIT_EVERY = 1000

/** MENGZI_WEBGPU_SUBMIT_EVERY's value, or the default when unset; a one-line reason for anything else. */
export function submitEveryFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_SUBMIT_EVERY
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`MENGZI_WEBGPU_SUBMIT_EVERY: expected a whole number of dispatches, 1 or more; got "${text}"`)
  }
  return n
}

/** Sets the submit interval on the running tfjs-webgpu backend; returns the previous one. */
export function setSubmitEvery(dispatches: number): number {
  submitEveryFromEnv(String(dispatches)) // the same refusal as the variable's
  const previous = tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', dispatches)
  return previous
}

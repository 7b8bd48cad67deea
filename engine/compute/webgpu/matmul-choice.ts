// Which kernel each matrix product runs where it is tuned on the device (matmul-tune.ts): the tiled
// 64×64 kernel, larger tiles (matmul-wide.ts: 128×128, 128×64, 64×128) or the subgroup kernel with G
// lanes sharing each A block (matmul-subgroups.ts). All give the same bits (matmul-parts.ts), so the
// choice changes time only. Products are grouped in classes: the pipeline variant (transposes,
// epilogue, operand kinds, vec4 loads) and M, N, K and the batch each rounded up to a power of two, so
// that batches of varying length (fine-tuning pads each batch to its longest example) share a
// measurement, plus the split of k, which must not change with the kernel. This module holds the
// choices measured (or kept from an earlier process: matmul-tune-cache.ts), the classes seen and not
// yet measured, and the kernel a tuning replay forces.
import { currentDevice } from './device'
import { matmulInputsPrecision, matmulMatrixSetting, matmulSplitKSetting, matmulTuningApplies, matmulTuningCacheFile, matmulVec4On, type MatmulInputs, type MatmulSplitK } from './flags'
import { adapterKey, cachedKernel, resetTuningCacheMemo, sourceHash, takeCacheNotice } from './matmul-tune-cache'
import type { SubgroupDevice } from './matmul-subgroups'
import { EMULATED_EXTRA_BYTES, matrixWorkgroupBytes, matrixLayout, matrixName, type MatrixPlan } from './matmul-matrix'
import { reductionsUseSubgroups } from './wgsl'

export interface MatmulKernel {
  /** 0: a tiled kernel; 4, 8 or 16: the subgroup kernel with that many lanes per A block (64×64 tiles). */
  share: number
  /** C's tile (share 0): 64 or 128 rows by 64 or 128 columns. */
  tileM: number
  tileN: number
  /** The matrix units' kernel for this subgroup matrix shape (matmul-matrix.ts; fp16 products, 64×64 tiles). */
  matrix?: MatrixPlan
}

export const TILED: MatmulKernel = { share: 0, tileM: 64, tileN: 64 }

/**
 * The kernels that may run a product on `device`: 64 or 128 rows by 64 or 128 columns of tile, the
 * subgroup kernel at each G its smallest subgroup holds, and for products with f16 inputs (`f16`) the
 * matrix units' kernel at each shape the device offers (matrixPlans).
 */
export function candidateKernels(device: SubgroupDevice, f16 = false): MatmulKernel[] {
  const list: MatmulKernel[] = [TILED, { share: 0, tileM: 128, tileN: 128 }, { share: 0, tileM: 128, tileN: 64 }, { share: 0, tileM: 64, tileN: 128 }]
  if (reductionsUseSubgroups(device)) {
    const min = device.adapterInfo?.subgroupMinSize ?? 4
    for (const g of [4, 8, 16]) if (g <= min) list.push({ share: g, tileM: 64, tileN: 64 })
  }
  if (f16) for (const matrix of matrixPlans(device)) list.push({ share: 0, tileM: 64, tileN: 64, matrix })
  return list
}

/**
 * The matrix units' kernels `device` can run (flags.ts setMatmulMatrix): one per f16 × f16 → f32 shape
 * it offers whose m divides 16, n 64 and k 16, with k tiles of 16 and of 32, written for 256 / its
 * largest subgroup subgroups a workgroup, where its workgroup memory holds the kernel's tiles; with
 * `emulate`, the shapes given, in plain WGSL, on any device with subgroups and shader-f16.
 */
export function matrixPlans(device: SubgroupDevice): MatrixPlan[] {
  const setting = matmulMatrixSetting()
  if (setting === false || !reductionsUseSubgroups(device) || !device.features.has('shader-f16')) return []
  const subgroups = 256 / (device.adapterInfo?.subgroupMaxSize ?? 32)
  const shapes =
    setting === true
      ? device.features.has('chromium-experimental-subgroup-matrix')
        ? (device.adapterInfo?.subgroupMatrixConfigs ?? []).filter((c) => c.componentType === 'f16' && c.resultComponentType === 'f32')
        : []
      : setting.emulate
  const plans: MatrixPlan[] = []
  for (const c of shapes) {
    for (const kTile of [16, 32] as const) {
      const plan = { m: c.M, n: c.N, k: c.K, subgroups, kTile, emulate: setting !== true }
      const bytes = matrixWorkgroupBytes(kTile) + (plan.emulate ? EMULATED_EXTRA_BYTES : 0)
      if ((device.limits?.maxComputeWorkgroupStorageSize ?? 0) < bytes || !matrixLayout(plan)) continue
      if (!plans.some((p) => p.m === plan.m && p.n === plan.n && p.k === plan.k && p.kTile === kTile)) plans.push(plan)
    }
  }
  return plans
}

export function kernelName(k: MatmulKernel): string {
  if (k.matrix) return matrixName(k.matrix)
  if (k.share) return `subgroups G=${k.share}`
  if (k.tileM === k.tileN) return k.tileM === 64 ? 'tiled 64' : `wide ${k.tileM}`
  return `tiles ${k.tileM}×${k.tileN}`
}

/** The settings a product's pipeline and split depend on, as they were when it was recorded. */
export interface ProductSettings {
  inputs: MatmulInputs
  vec4: boolean
  splitK: MatmulSplitK
}

/** A product as recorded, without its tensors: enough to replay it on operands of the same sizes. */
export interface ProductShape {
  M: number
  N: number
  K: number
  batch: number
  transA: boolean
  transB: boolean
  strideA: number
  strideB: number
  bias: boolean
  gelu: boolean
  packZ: boolean
  rowSums: boolean
  /** The element offset of a packed f16 operand (fp16 storage), or null for a float32 one. */
  halfA: number | null
  halfB: number | null
  settings: ProductSettings
}

export interface PendingProduct {
  key: string
  /** The first product of the class seen: what the tuner replays. */
  shape: ProductShape
  /** The kernel's name and its sizes, as the kernel timer labels it. */
  label: string
  /** Where a tuning cache is in use: the hash of the class's candidates' WGSL, and the adapter it is kept for. */
  cache: { file: string; adapter: string; source: string } | null
}

const chosen = new Map<string, MatmulKernel>()
const pending = new Map<string, PendingProduct>()
let forced: MatmulKernel | null = null
// classes whose kernel came from the tuning cache, not yet in a run's log
let fromCache: string[] = []

const bucket = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)))

/** The class of a product: its pipeline key without the kernel's part, sizes in powers of two, its split. */
export function productClass(variantKey: string, s: Pick<ProductShape, 'M' | 'N' | 'K' | 'batch'>, splits: number): string {
  return `${variantKey} ${bucket(s.M)}×${bucket(s.N)}×${bucket(s.K)}${s.batch > 1 ? ` ×${bucket(s.batch)}` : ''}${splits > 1 ? ` k÷${splits}` : ''}`
}

/** Whether products are tuned now, on the device the engine trains on (flags.ts matmulTuningApplies). */
export function tuningActive(): boolean {
  const report = currentDevice()?.report
  return matmulTuningApplies(report ? report.software : 'no device yet')
}

/** Whether `tunedKernel` may have a kernel to give: a replay forces one, or tuning is active (the products' hot path asks this first). */
export function kernelChoiceApplies(): boolean {
  return forced !== null || tuningActive()
}

/**
 * The kernel for a product of class `key`: the one a replay forces, else the one measured for the
 * class (in this process, or kept in the tuning cache for this adapter and these kernels' `sources`);
 * undefined (the settings' kernel) while tuning is off or the class is not measured yet, which it
 * then notes for the next `tuneMatmuls`.
 */
export function tunedKernel(key: string, shape: () => ProductShape, label: string, sources: () => string): MatmulKernel | undefined {
  if (forced) return forced
  if (!tuningActive()) return undefined
  const k = chosen.get(key)
  if (k || pending.has(key)) return k
  const file = matmulTuningCacheFile()
  const report = currentDevice()?.report
  const cache = file && report ? { file, adapter: adapterKey(report), source: sourceHash(sources()) } : null
  const kept = cache && cachedKernel(cache.file, cache.adapter, key, cache.source)
  if (kept) {
    chosen.set(key, kept)
    fromCache.push(key)
    return kept
  }
  pending.set(key, { key, shape: shape(), label, cache })
  return undefined
}

/** Whether a pause between steps has work: classes to tune, or cache news for the log. */
export function tuningDue(): boolean {
  return pending.size > 0 || fromCache.length > 0
}

/** What the tuning cache gave since the last call, for a run's log: the classes taken from it, and why it could not be read. */
export function takeCacheNews(): { taken: [string, MatmulKernel][]; notice: string | null } {
  const taken = fromCache.map((key): [string, MatmulKernel] => [key, chosen.get(key)!])
  fromCache = []
  return { taken, notice: takeCacheNotice() }
}

export function currentSettings(): ProductSettings {
  return { inputs: matmulInputsPrecision(), vec4: matmulVec4On(), splitK: matmulSplitKSetting() }
}

/** The classes seen and not measured yet. */
export function pendingProducts(): PendingProduct[] {
  return [...pending.values()]
}

export function takePendingProducts(): PendingProduct[] {
  const all = pendingProducts()
  pending.clear()
  return all
}

export function chooseKernel(key: string, k: MatmulKernel): void {
  chosen.set(key, k)
}

export function chosenKernel(key: string): MatmulKernel | undefined {
  return chosen.get(key)
}

/** Forces `k` on every product recorded until the next call (null: back to the choices); returns the previous. */
export function forceKernel(k: MatmulKernel | null): MatmulKernel | null {
  const previous = forced
  forced = k
  return previous
}

/** Forgets every choice and pending class (a new device, or a test starting afresh). */
export function resetMatmulChoices(): void {
  chosen.clear()
  pending.clear()
  forced = null
  fromCache = []
  resetTuningCacheMemo()
}

/** The measured choices, class by class. */
export function matmulChoices(): [string, MatmulKernel][] {
  return [...chosen]
}

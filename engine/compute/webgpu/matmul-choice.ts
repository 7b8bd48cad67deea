// Which kernel each matrix product runs where it is tuned on the device (matmul-tune.ts): the tiled
// 64×64 kernel, larger tiles (matmul-wide.ts: 128×128, 128×64, 64×128) or the subgroup kernel with G
// lanes sharing each A block (matmul-subgroups.ts). All give the same bits (matmul-parts.ts), so the
// choice changes time only. Products are grouped in classes: the pipeline variant (transposes,
// epilogue, operand kinds, vec4 loads) and M, N, K and the batch each rounded up to a power of two, so
// that batches of varying length (fine-tuning pads each batch to its longest example) share a
// measurement, plus the split of k, which must not change with the kernel. This module holds the choices measured, the classes seen and
// not yet measured, and the kernel a tuning replay forces.
import { currentDevice } from './device'
import { matmulInputsPrecision, matmulSplitKSetting, matmulSubgroupsSetting, matmulTileSetting, matmulTuningSetting, matmulVec4On, type MatmulInputs, type MatmulSplitK } from './flags'

export interface MatmulKernel {
  /** 0: a tiled kernel; 4, 8 or 16: the subgroup kernel with that many lanes per A block (64×64 tiles). */
  share: number
  /** C's tile (share 0): 64 or 128 rows by 64 or 128 columns. */
  tileM: number
  tileN: number
}

export const TILED: MatmulKernel = { share: 0, tileM: 64, tileN: 64 }

export function kernelName(k: MatmulKernel): string {
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
}

const chosen = new Map<string, MatmulKernel>()
const pending = new Map<string, PendingProduct>()
let forced: MatmulKernel | null = null

const bucket = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)))

/** The class of a product: its pipeline key without the kernel's part, sizes in powers of two, its split. */
export function productClass(variantKey: string, s: Pick<ProductShape, 'M' | 'N' | 'K' | 'batch'>, splits: number): string {
  return `${variantKey} ${bucket(s.M)}×${bucket(s.N)}×${bucket(s.K)}${s.batch > 1 ? ` ×${bucket(s.batch)}` : ''}${splits > 1 ? ` k÷${splits}` : ''}`
}

/**
 * Whether products are tuned now: the setting is on, or 'auto' on a hardware adapter (on a software
 * one, lavapipe, a replay of a large product takes seconds and its times say nothing about a GPU),
 * and no kernel is asked for by the subgroup or tile setting (tests and benchmarks that force one).
 */
export function tuningActive(): boolean {
  const setting = matmulTuningSetting()
  const on = setting === 'auto' ? currentDevice()?.report.software === null : setting
  return on && matmulSubgroupsSetting() === false && matmulTileSetting() === 64
}

/** Whether `tunedKernel` may have a kernel to give: a replay forces one, or tuning is active (the products' hot path asks this first). */
export function kernelChoiceApplies(): boolean {
  return forced !== null || tuningActive()
}

/**
 * The kernel for a product of class `key`: the one a replay forces, else the one measured for the
 * class; undefined (the settings' kernel) while tuning is off or the class is not measured yet, which
 * it then notes for the next `tuneMatmuls`.
 */
export function tunedKernel(key: string, shape: () => ProductShape, label: string): MatmulKernel | undefined {
  if (forced) return forced
  if (!tuningActive()) return undefined
  const k = chosen.get(key)
  if (!k && !pending.has(key)) pending.set(key, { key, shape: shape(), label })
  return k
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
}

/** The measured choices, class by class. */
export function matmulChoices(): [string, MatmulKernel][] {
  return [...chosen]
}

// Whether the model's ops use our fused WGSL kernels on webgpu (default) or tfjs-webgpu's stock
// compositions (MENGZI_WEBGPU_KERNELS=0, or off for a test that compares the two).
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

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

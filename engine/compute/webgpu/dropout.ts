// MengziDropout on webgpu: x · mask(seed) / (1 − rate) in one pass, the mask hashed from (index, seed)
// exactly as the native kernel does (wgsl.ts), so both backends drop the same elements for a seed.
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel } from './runner'
import { sizeFromShape } from './shape'
import { DROPOUT_WGSL, ENTRY_ARGS, FLAT_INDEX_WGSL, dropoutParams } from './wgsl'

/** (x; attrs rate, seed) → x · mask(seed) / (1 − rate); applied to dy with the same seed it is the gradient. */
export const dropoutWebgpuConfig = webgpuKernel('MengziDropout', (backend, { x }, { rate, seed }) => {
  const n = sizeFromShape(x.shape)
  const out = output(backend, x.shape)
  const d = dropoutParams(rate as number, seed as number)
  dispatch(backend, {
    key: 'dropout',
    code: () => /* wgsl */ `
${bindings(['out'], [['x', 'f32']], 'n: u32, seedWord: u32, threshold: u32, scale: f32,')}
${DROPOUT_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  out[i] = x[i] * dropoutFactor(i, u.seedWord, u.threshold, u.scale);
}`,
    outputs: [out],
    inputs: [x],
    uniforms: [...u32(n, d.seedWord, d.threshold), ...f32(d.scale)],
    workgroups: grid(n, 256),
  })
  return [out]
})

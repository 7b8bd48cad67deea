// MengziAdditiveMask on webgpu: HF's additive score mask (1 − mask) · finfo(float32).min in one
// dispatch, where the composition (cast, sub, mul) records two tfjs-webgpu programs. Same f32
// operations in the same order, so the same bits (0 · min = −0 included).
import { bindings, dispatch, f32, grid, output, u32, webgpuKernel } from './runner'
import { ENTRY_ARGS, FLAT_INDEX_WGSL } from './wgsl'

/** (mask [B, T], int32 or float32; attr min) → [B, 1, 1, T] float32 */
export const additiveMaskWebgpuConfig = webgpuKernel('MengziAdditiveMask', (backend, { mask }, { min }) => {
  const [B, T] = mask.shape
  const element = mask.dtype === 'int32' ? 'i32' : 'f32'
  const out = output(backend, [B, 1, 1, T])
  dispatch(backend, {
    key: `additive-mask-${element}`,
    code: () => /* wgsl */ `
${bindings(['out'], [['mask', element]], 'n: u32, min: f32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i < u.n) { out[i] = (1.0 - f32(mask[i])) * u.min; }
}`,
    outputs: [out],
    inputs: [mask],
    uniforms: [...u32(B * T), ...f32(min as number)],
    workgroups: grid(B * T, 256),
  })
  return [out]
})

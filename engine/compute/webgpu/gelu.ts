// MengziGelu / MengziGeluGrad on webgpu: HF's exact GELU, y = x·Φ(x), and dx = dy·(Φ(x) + x·φ(x)),
// one elementwise pass each; Φ is kept for backward as on wasm.
import { sizeFromShape } from './shape'
import { bindings, dispatch, grid, output, u32, webgpuKernel } from './runner'
import { ENTRY_ARGS, ERF_WGSL, FLAT_INDEX_WGSL } from './wgsl'

/** x → [y = x·Φ(x), Φ(x)] */
export const geluWebgpuConfig = webgpuKernel('MengziGelu', (backend, { x }) => {
  const n = sizeFromShape(x.shape)
  const [y, cdf] = [output(backend, x.shape), output(backend, x.shape)]
  dispatch(backend, {
    key: 'gelu',
    code: () => /* wgsl */ `
${bindings(['y', 'cdf'], [['x', 'f32']], 'n: u32,')}
${ERF_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let v = x[i];
  let c = erf(v * 0.70710678118654752) * 0.5 + 0.5;
  cdf[i] = c;
  y[i] = v * c;
}`,
    outputs: [y, cdf],
    inputs: [x],
    uniforms: u32(n),
    workgroups: grid(n, 256),
  })
  return [y, cdf]
})

/** (dy, x, Φ(x)) → dx */
export const geluGradWebgpuConfig = webgpuKernel('MengziGeluGrad', (backend, { dy, x, cdf }) => {
  const n = sizeFromShape(x.shape)
  const dx = output(backend, x.shape)
  dispatch(backend, {
    key: 'gelu-grad',
    code: () => /* wgsl */ `
${bindings(['dx'], [['dy', 'f32'], ['x', 'f32'], ['cdf', 'f32']], 'n: u32,')}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(256)
fn main(${ENTRY_ARGS}) {
  let i = flatIndex(wid, nw, lid);
  if (i >= u.n) { return; }
  let v = x[i];
  let pdf = exp(v * v * -0.5) * 0.3989422804014327;
  dx[i] = dy[i] * (cdf[i] + v * pdf);
}`,
    outputs: [dx],
    inputs: [dy, x, cdf],
    uniforms: u32(n),
    workgroups: grid(n, 256),
  })
  return [dx]
})

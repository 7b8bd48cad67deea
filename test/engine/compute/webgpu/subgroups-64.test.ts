// The subgroup kernels at subgroup size 64 on lavapipe (wide-subgroups.ts): the width is set before
// the driver loads, so before any import opens WebGPU.
process.env.LP_NATIVE_VECTOR_WIDTH = String(64 * 32)
const { wideSubgroupSuite } = await import('./wide-subgroups')
wideSubgroupSuite(64)
export {} // a module (for the top-level await)

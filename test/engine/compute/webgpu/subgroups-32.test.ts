// The subgroup kernels at subgroup size 32 on lavapipe (wide-subgroups.ts): the width is set before
// the driver loads, so before any import opens WebGPU.
process.env.LP_NATIVE_VECTOR_WIDTH = String(32 * 32)
const { wideSubgroupSuite } = await import('./wide-subgroups')
wideSubgroupSuite(32)
export {} // a module (for the top-level await)

// A minimal safetensors reader for the vendored LAC weights (F32 only): checks names, dtypes and shapes
// before anything uses them.
import { corrupt } from '../../errors'

export interface Tensor {
  shape: number[]
  data: Float32Array
}

export function readSafetensors(bytes: Uint8Array, source: string): Map<string, Tensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  if (headerLength <= 0 || 8 + headerLength > bytes.byteLength) {
    throw corrupt(`${source}: header length ${headerLength} does not fit in ${bytes.byteLength} bytes`)
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >
  const base = 8 + headerLength
  const tensors = new Map<string, Tensor>()
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue
    const [begin, end] = entry.data_offsets
    const count = entry.shape.reduce((a, b) => a * b, 1)
    if (entry.dtype !== 'F32') throw corrupt(`${source}: tensor ${name} has dtype ${JSON.stringify(entry.dtype)}, expected "F32"`)
    if (end - begin !== 4 * count || base + end > bytes.byteLength) {
      throw corrupt(`${source}: tensor ${name} shape [${entry.shape}] does not match its byte range [${begin}, ${end})`)
    }
    // copy: the file's byte offsets need not be 4-aligned in memory
    const data = new Float32Array(count)
    new Uint8Array(data.buffer).set(bytes.subarray(base + begin, base + end))
    tensors.set(name, { shape: entry.shape, data })
  }
  return tensors
}

export function expectTensor(tensors: Map<string, Tensor>, name: string, shape: number[], source: string): Float32Array {
  const tensor = tensors.get(name)
  if (!tensor) throw corrupt(`${source}: tensor ${name} is missing`)
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw corrupt(`${source}: tensor ${name} has shape [${tensor.shape}], expected [${shape}]`)
  }
  return tensor.data
}

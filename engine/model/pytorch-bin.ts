// PyTorch checkpoints (pytorch_model.bin, torch.save's zip format since torch 1.6) read without Python:
// the zip's <prefix>/data.pkl is interpreted by the restricted unpickler (torch-pickle.ts) with a fixed
// list of allowed globals, and each tensor's bytes come from <prefix>/data/<key>. Nothing in the file
// can run code: any other global (os.system, builtins.eval, …) is refused with one line naming it.
import fs from 'node:fs'
import yauzl from 'yauzl'
import { corrupt, unsupported } from '../errors'
import { bf16ToF32, f16ToF32, type SafetensorsDtype, type StoredTensor } from './safetensors'
import { unpickle, type Callable } from './torch-pickle'

/** torch storage classes → element type. */
const STORAGES: Record<string, { dtype: 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32'; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
}

interface Storage {
  dtype: 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32'
  data: Uint8Array
  numel: number
}

interface TorchTensor {
  storage: Storage
  offset: number
  size: number[]
  stride: number[]
}

const STORAGE_TAG = Symbol('storage type')
const isTensor = (v: unknown): v is TorchTensor => typeof v === 'object' && v !== null && 'storage' in v && 'stride' in v

async function readZip(file: string): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z!))),
  )
  const out = new Map<string, Buffer>()
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject)
      zip.on('end', () => resolve())
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry()
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(err)
          const chunks: Buffer[] = []
          stream!.on('data', (c: Buffer) => chunks.push(c))
          stream!.on('error', reject)
          stream!.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks))
            zip.readEntry()
          })
        })
      })
      zip.readEntry()
    })
  } finally {
    zip.close()
  }
  return out
}

/** The allowed globals: what torch.save writes for a state dict, and nothing else. */
function resolver(source: string) {
  return (module: string, name: string): Callable => {
    const key = `${module}.${name}`
    if (key === 'collections.OrderedDict') return () => new Map()
    if (key === 'torch._utils._rebuild_tensor_v2' || key === 'torch._utils._rebuild_tensor') {
      return (storage, offset, size, stride) => {
        if (!(storage as Storage)?.data || !Array.isArray(size) || !Array.isArray(stride)) throw corrupt(`${source}: ${key} with malformed arguments`)
        return { storage, offset, size: [...size], stride: [...stride] } as TorchTensor
      }
    }
    if (key === 'torch._utils._rebuild_parameter') return (data) => data
    if (module === 'torch' && Object.hasOwn(STORAGES, name)) return Object.assign(() => undefined, { [STORAGE_TAG]: name })
    throw unsupported(`${source}: the pickle refers to ${key}, which a PyTorch state dict never holds; refused (nothing in the file was run)`)
  }
}

/** Copies a (possibly strided) tensor's elements out of its storage, in C order. */
function gather(t: TorchTensor, name: string, source: string): StoredTensor {
  const { dtype } = t.storage
  const width = STORAGES[Object.keys(STORAGES).find((k) => STORAGES[k].dtype === dtype)!].bytes
  const n = t.size.reduce((a, b) => a * b, 1)
  const view = new DataView(t.storage.data.buffer, t.storage.data.byteOffset, t.storage.data.byteLength)
  let last = t.offset
  for (let d = 0; d < t.size.length; d++) if (t.size[d] > 0) last += (t.size[d] - 1) * t.stride[d]
  if (n > 0 && (t.offset < 0 || last >= t.storage.numel)) throw corrupt(`${source}: tensor ${JSON.stringify(name)} reaches past its storage (${t.storage.numel} elements)`)
  const read = (i: number): number | bigint => {
    const at = i * width
    switch (dtype) {
      case 'F32':
        return view.getFloat32(at, true)
      case 'F64':
        return view.getFloat64(at, true)
      case 'F16':
        return f16ToF32(view.getUint16(at, true))
      case 'BF16':
        return bf16ToF32(view.getUint16(at, true))
      case 'I32':
        return view.getInt32(at, true)
      case 'I64':
        return view.getBigInt64(at, true)
    }
  }
  const out = dtype === 'I64' ? new BigInt64Array(n) : dtype === 'I32' ? new Int32Array(n) : new Float32Array(n)
  const index = new Array<number>(t.size.length).fill(0)
  for (let k = 0; k < n; k++) {
    let at = t.offset
    for (let d = 0; d < index.length; d++) at += index[d] * t.stride[d]
    ;(out as unknown as (number | bigint)[])[k] = read(at)
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d] < t.size[d]) break
      index[d] = 0
    }
  }
  const stored: SafetensorsDtype = dtype === 'I64' ? 'I64' : dtype === 'I32' ? 'I32' : dtype === 'F64' ? 'F32' : dtype
  return { dtype: stored, shape: [...t.size], data: out }
}

/** Reads a torch.save zip holding a state dict (or {state_dict|model: state dict}) of tensors. */
export async function readPytorchBin(file: string): Promise<Map<string, StoredTensor>> {
  const head = Buffer.alloc(4)
  const fd = fs.openSync(file, 'r')
  try {
    fs.readSync(fd, head, 0, 4, 0)
  } finally {
    fs.closeSync(fd)
  }
  if (head.readUInt32LE(0) !== 0x04034b50) {
    throw unsupported(`${file}: not a zip archive — the legacy torch.save format (before torch 1.6) is not read; re-save it with a newer torch or convert the folder to safetensors`)
  }
  const entries = await readZip(file).catch((err: Error) => {
    throw corrupt(`${file}: not a readable zip archive (${err.message.split('\n')[0]})`)
  })
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n))
  if (!pkl) throw corrupt(`${file}: no <name>/data.pkl inside; not a torch.save checkpoint`)
  const prefix = pkl.slice(0, -'data.pkl'.length)
  const source = `${file}!${pkl}`
  const root = unpickle(entries.get(pkl)!, {
    resolve: resolver(source),
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw unsupported(`${source}: persistent id ${JSON.stringify(pid)?.slice(0, 60)} is not a tensor storage; refused`)
      const type = (pid[1] as Record<symbol, string>)?.[STORAGE_TAG]
      if (!type) throw unsupported(`${source}: storage of an unsupported type; refused`)
      const key = String(pid[2])
      const data = entries.get(`${prefix}data/${key}`)
      if (!data) throw corrupt(`${file}: storage ${prefix}data/${key} is missing`)
      const spec = STORAGES[type]
      const numel = Number(pid[4])
      if (data.length < numel * spec.bytes) throw corrupt(`${file}: storage ${key} holds ${data.length} bytes, ${numel} ${type} elements need ${numel * spec.bytes}`)
      return { dtype: spec.dtype, data, numel } satisfies Storage
    },
    build: (obj) => obj, // an OrderedDict's _metadata (module versions): not needed
  }, source)
  let dict = root
  for (const wrapper of ['state_dict', 'model']) if (dict instanceof Map && dict.get(wrapper) instanceof Map) dict = dict.get(wrapper)
  if (!(dict instanceof Map)) throw unsupported(`${source}: the pickle holds ${Array.isArray(dict) ? 'a list' : typeof dict}, not a state dict`)
  const out = new Map<string, StoredTensor>()
  for (const [name, value] of dict) {
    if (typeof name !== 'string') throw unsupported(`${source}: a state dict key that is not a string`)
    if (!isTensor(value)) throw unsupported(`${source}: ${JSON.stringify(name)} is not a tensor`)
    out.set(name, gather(value, name, source))
  }
  return out
}

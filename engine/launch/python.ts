// Finding a Python with PyTorch: MENGZI_PYTHON (or the run's torch.python) first, then `python3` on
// PATH, then /usr/bin/python3 (a pyenv shim may come first on PATH without torch). The probe reports
// what the run will use: the interpreter, torch's version, CUDA, NCCL, DeepSpeed, transformers.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { WorkbenchError } from '../errors'

const run = promisify(execFile)

export interface TorchProbe {
  python: string
  pythonVersion: string
  torch: string
  cuda: boolean
  gpus: number
  nccl: boolean
  gloo: boolean
  deepspeed: string | null
  transformers: string | null
  safetensors: string | null
}

const PROBE = `
import json, sys, importlib
def version(name):
    try:
        return getattr(importlib.import_module(name), '__version__', 'unknown')
    except Exception:
        return None
import torch, torch.distributed as d
print(json.dumps({'pythonVersion': sys.version.split()[0], 'torch': torch.__version__, 'cuda': torch.cuda.is_available(),
  'gpus': torch.cuda.device_count(), 'nccl': d.is_available() and d.is_nccl_available(), 'gloo': d.is_available() and d.is_gloo_available(),
  'deepspeed': version('deepspeed'), 'transformers': version('transformers'), 'safetensors': version('safetensors')}))
`

export function pythonCandidates(explicit?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  if (explicit) return [explicit]
  if (env.MENGZI_PYTHON) return [env.MENGZI_PYTHON]
  return ['python3', '/usr/bin/python3']
}

/** The first candidate Python that imports torch with torch.distributed, or a one-line reason. */
export async function findTorch(explicit?: string, env: NodeJS.ProcessEnv = process.env): Promise<TorchProbe> {
  const tried: string[] = []
  for (const python of pythonCandidates(explicit, env)) {
    try {
      const { stdout } = await run(python, ['-c', PROBE], { timeout: 60_000, env })
      const probe = JSON.parse(stdout.trim().split('\n').at(-1)!) as Omit<TorchProbe, 'python'>
      return { python, ...probe }
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string }
      const why = err.code === 'ENOENT' ? 'not found' : (err.stderr?.trim().split('\n').at(-1) ?? err.message.split('\n')[0])
      tried.push(`${python}: ${why}`)
    }
  }
  throw new WorkbenchError(
    'UNAVAILABLE',
    `the torch engine needs a Python with PyTorch (torch.distributed); tried ${tried.join('; ')}. Install PyTorch (Debian: apt-get install python3-torch) or set MENGZI_PYTHON`,
  )
}

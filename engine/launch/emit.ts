// A job folder for another machine or a cluster (`mengzi launch --config FILE --emit DIR`): the shards,
// the vocab, the initial weights, the trainer, job.json, a torchrun command (run.sh) and, for Slurm, a
// batch script. Everything inside is relative to the folder, so it can be copied anywhere; when the run
// has finished there, `mengzi runs ingest DIR` brings its metrics and final checkpoint back.
import fs from 'node:fs'
import path from 'node:path'
import { badInput } from '../errors'
import { VERSION } from '../version'
import { activeObjectives, vocabOf, type TrainConfig } from '../train/config'
import { readTokenManifest } from '../text/token-shards'
import { copyTrainer, writeJobFile, type TorchJob } from './job'
import { bertConfigOf, initialWeightsOf } from './local'
import { checkTorchPlan } from './plan'
import { materialiseShards } from './shards'

export interface EmitOptions {
  scheduler?: 'none' | 'slurm'
  keepCheckpoints?: number
}

export interface EmitResult {
  dir: string
  files: string[]
  command: string
}

/** The torchrun line of run.sh: NNODES, NODE_RANK's rendezvous through MASTER_ADDR:MASTER_PORT (torchrun's c10d). */
function torchrunLine(nproc: number, maxRestarts: number, nodes: string, endpoint: string, id: string): string {
  // --redirects/--tee/--log_dir explicit: torch 1.13's defaults fail to parse under Python 3.11
  return `torchrun --nnodes ${nodes} --nproc_per_node ${nproc} --max_restarts ${maxRestarts} --rdzv_backend c10d --rdzv_endpoint ${endpoint} --rdzv_id ${id} --redirects 2 --tee 2 --log_dir logs trainer/train.py --job job.json`
}

export async function emitJobFolder(raw: TrainConfig, out: string, options: EmitOptions = {}): Promise<EmitResult> {
  const config: TrainConfig = { ...raw, engine: 'torch' }
  const t = checkTorchPlan(config, undefined, 'cluster')
  const dir = path.resolve(out)
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw badInput(`--emit ${out}: the folder exists and is not empty; give a new folder`)
  const bert = await bertConfigOf(config)
  fs.mkdirSync(dir, { recursive: true })
  try {
    const shards = await materialiseShards(config, bert, dir)
    const tagged = activeObjectives(config).filter((o) => o === 'pos' || o === 'ner')
    if (tagged.length && readTokenManifest(shards).tags === null) {
      throw badInput(`objectives ${tagged.join(', ')} learn the dataset's tags, and the training data has none: tag the dataset first (the Tags view, or a local run, tags it)`)
    }
    if (shards !== path.join(dir, 'shards')) fs.cpSync(shards, path.join(dir, 'shards'), { recursive: true })
    const vocab = vocabOf(config)
    if (vocab) fs.copyFileSync(vocab, path.join(dir, 'vocab.txt'))
    const init = initialWeightsOf(config)
    if (init) fs.copyFileSync(init, path.join(dir, 'init.safetensors'))
    const job: TorchJob = {
      run: config,
      model: bert,
      data: { kind: 'shards', dir: 'shards' },
      init: init ? 'init.safetensors' : undefined,
      vocab: vocab ? 'vocab.txt' : undefined,
      keepCheckpoints: options.keepCheckpoints ?? 0,
    }
    await copyTrainer(dir)
    await writeJobFile(dir, job)
    const id = `mengzi-${config.name}`.replace(/[^\w.-]+/g, '-')
    const command = torchrunLine(t.nprocPerNode, t.maxRestarts, '${NNODES:-' + t.nnodes + '}', '${MASTER_ADDR:-127.0.0.1}:${MASTER_PORT:-29500}', '${RDZV_ID:-' + id + '}')
    const runSh = [
      '#!/bin/sh',
      `# ${config.name}: the run as configured in Mengzi Workbench ${VERSION}, on PyTorch distributed.`,
      '# One machine: ./run.sh.  Several: run it on each with NNODES, MASTER_ADDR (the first machine) and the same RDZV_ID.',
      '# When it has finished, bring it back: mengzi runs ingest <this folder>',
      'set -e',
      'cd "$(dirname "$0")"',
      `exec ${command}`,
      '',
    ].join('\n')
    fs.writeFileSync(path.join(dir, 'run.sh'), runSh, { mode: 0o755 })
    if (options.scheduler === 'slurm') {
      const gpus = t.device === 'cpu' ? '' : `#SBATCH --gpus-per-node=${t.nprocPerNode}\n`
      const sbatch = [
        '#!/bin/bash',
        `#SBATCH --job-name=${id}`,
        `#SBATCH --nodes=${t.nnodes}`,
        '#SBATCH --ntasks-per-node=1',
        `${gpus}#SBATCH --output=slurm-%j.log`,
        `# ${config.name} from Mengzi Workbench ${VERSION}: sbatch slurm.sbatch from this folder (on a shared filesystem);`,
        '# afterwards: mengzi runs ingest <this folder>',
        'set -e',
        'cd "$SLURM_SUBMIT_DIR"',
        'MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        `srun ${torchrunLine(t.nprocPerNode, t.maxRestarts, '"$SLURM_NNODES"', '"$MASTER_ADDR":29500', '"$SLURM_JOB_ID"')}`,
        '',
      ].join('\n')
      fs.writeFileSync(path.join(dir, 'slurm.sbatch'), sbatch, { mode: 0o755 })
    }
    const files = fs.readdirSync(dir, { recursive: true }).map(String).sort()
    return { dir, files, command }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

// The torch engine from the command line: `mengzi train --engine torch --nproc-per-node 2` ends like a
// local run (a JSON summary last); `mengzi launch --emit DIR --scheduler slurm` writes a job folder whose
// run.sh really runs (torchrun) and which `mengzi runs ingest DIR` brings back as a run with a model;
// what torch cannot honour is refused before anything starts.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../engine/launch/torchrun'
import { Workbench } from '../../../engine/service/workbench'
import { metricSeries } from '../../../engine/store/metrics'
import { getModel } from '../../../engine/store/models'
import { getRun } from '../../../engine/store/runs'
import { repoRoot, tempDir } from '../../helpers'
import { skipTorch, TORCH_ENV, torchProbe } from '../launch/torch-helpers'
import { runCli } from './run-cli'

const tmp = tempDir('mengzi-launch-cli-')
afterAll(() => tmp.cleanup())
const home = path.join(tmp.dir, 'home')
const env = { MENGZI_HOME: home, ...TORCH_ENV }

const tinyRun = (extra: Record<string, unknown> = {}) => {
  const file = path.join(tmp.dir, `run-${Object.keys(extra).join('-') || 'plain'}.json`)
  fs.writeFileSync(
    file,
    JSON.stringify({
      name: 'cli-torch',
      model: { config: { vocab_size: 21128, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32 } },
      data: { kind: 'synthetic', sequences: 32, minLength: 4, maxLength: 12, seed: 1 },
      vocab: path.join(repoRoot, 'resources', 'vocab', 'vocab.txt'),
      maxSeqLength: 16,
      batchSize: 4,
      totalSteps: 4,
      checkpointEvery: 2,
      ...extra,
    }),
  )
  return file
}

describe('torch engine on the command line: refusals', () => {
  it('refuses what torch cannot honour, in one line, before starting', async () => {
    const odd = await runCli(['train', '--config', tinyRun(), '--engine', 'torch', '--nproc-per-node', '3', '--json'], env)
    expect(odd.status).toBe(2)
    expect(odd.stderr.trim()).toBe('mengzi: the torch engine cannot run this config: batchSize (4) is split over 3 ranks and must be a multiple of it')
    const zero = await runCli(['launch', '--config', tinyRun({ torch: { zeroStage: 2 } }), '--emit', path.join(tmp.dir, 'never'), '--json'], env)
    expect(zero.stderr.trim()).toMatch(/^mengzi: the torch engine cannot run this config: LAMB's trust ratio is per tensor/)
    expect(fs.existsSync(path.join(tmp.dir, 'never'))).toBe(false)
    const local = await runCli(['train', '--config', tinyRun(), '--engine', 'local', '--nproc-per-node', '2'], env)
    expect(local.stderr.trim()).toBe('mengzi: --nproc-per-node applies to --engine torch')
  })
})

describe.skipIf(skipTorch)('torch engine on the command line', () => {
  it('mengzi train --engine torch --nproc-per-node 2: a JSON summary last, like a local run', { timeout: 120_000 }, async () => {
    const r = await runCli(['train', '--config', tinyRun(), '--engine', 'torch', '--nproc-per-node', '2', '--json'], env)
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    const summary = lines.pop()
    expect(summary).toMatchObject({ status: 'completed', step: 4, error: null })
    expect(lines.some((l) => l.progress?.unit === 'steps' && l.progress.total === 4)).toBe(true) // progress lines first, as a local run
    expect(summary.backend).toMatch(/^torch .*cpu×2$/)
    expect(fs.readdirSync(summary.checkpoint).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'vocab.txt'])
  })

  it('mengzi launch --emit DIR --scheduler slurm, run.sh there, then mengzi runs ingest DIR', { timeout: 120_000 }, async () => {
    const dir = path.join(tmp.dir, 'job')
    const emitted = await runCli(['launch', '--config', tinyRun({ torch: { nprocPerNode: 2 } }), '--emit', dir, '--scheduler', 'slurm', '--json'], env)
    expect(emitted.status, emitted.stderr).toBe(0)
    const top = fs.readdirSync(dir).sort()
    expect(top).toEqual(['job.json', 'run.sh', 'shards', 'slurm.sbatch', 'trainer', 'vocab.txt'])
    const sbatch = fs.readFileSync(path.join(dir, 'slurm.sbatch'), 'utf8')
    expect(sbatch).toContain('#SBATCH --nodes=1')
    expect(sbatch).toMatch(/srun torchrun --nnodes "\$SLURM_NNODES" --nproc_per_node 2 .* trainer\/train\.py --job job\.json/)
    const job = JSON.parse(fs.readFileSync(path.join(dir, 'job.json'), 'utf8'))
    expect(job).toMatchObject({ data: { kind: 'shards', dir: 'shards' }, vocab: 'vocab.txt', run: { engine: 'torch' } })

    // run.sh as a cluster node would (torchrun on PATH: Debian's python3-torch puts it in /usr/bin)
    const torchrunDir = path.dirname(torchProbe!.python)
    await promisify(execFile)('sh', ['run.sh'], { cwd: dir, env: { ...process.env, ...TORCH_ENV, MASTER_PORT: String(await freePort()), PATH: `${torchrunDir}:${process.env.PATH}` }, timeout: 100_000 })
    const ingested = await runCli(['runs', 'ingest', dir, '--json'], env)
    expect(ingested.status, ingested.stderr).toBe(0)
    const result = JSON.parse(ingested.stdout.trim().split('\n').pop()!)
    expect(result).toMatchObject({ status: 'completed', step: 4 })
    const wb = new Workbench({ home })
    try {
      const run = getRun(wb.db, result.runId)!
      expect(run.backend).toMatch(/^torch .*cpu×2$/)
      expect(metricSeries(wb.db, run.id, 'loss').steps).toEqual([1, 2, 3, 4])
      const model = getModel(wb.db, result.modelId)!
      expect(model.dir.startsWith(path.join(home, 'runs', String(run.id)))).toBe(true)
      expect(fs.existsSync(path.join(model.dir, 'model.safetensors'))).toBe(true)
    } finally {
      await wb.close()
    }
    const again = await runCli(['runs', 'ingest', path.join(tmp.dir, 'nothing-here')], env)
    expect(again.stderr.trim()).toMatch(/no job\.json/)
  })
})

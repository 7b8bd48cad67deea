// Debian's Chromium driven by playwright-core (never `playwright install`), and the seeded workbench
// that the end-to-end tests look at.
import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { serve, type RunningServer } from '../../engine/server/server'
import { Workbench } from '../../engine/service/workbench'
import { insertDataset } from '../../engine/store/datasets'
import { MetricWriter } from '../../engine/store/metrics'
import { insertModel } from '../../engine/store/models'
import { insertRun, setRunStatus } from '../../engine/store/runs'
import { repoRoot, tempDir } from '../helpers'

export const artifacts = path.join(repoRoot, 'test', 'artifacts')
export const builtRenderer = path.join(repoRoot, 'out', 'renderer')

export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (!fs.existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium`)
  return chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=en-US'],
  })
}

/** A small but real-looking history: a corpus, two finished pretraining runs, one imported model. */
export function seedWorkbench(wb: Workbench): void {
  insertDataset(wb.db, {
    name: 'fortunes-zh',
    kind: 'text',
    dir: path.join(wb.layout.datasets, '1'),
    stats: { documents: 1287, sentences: 3420, characters: 96124 },
    files: [
      { sourcePath: '/usr/share/games/fortunes/chinese', status: 'imported', reason: null, records: 1287, encoding: 'utf-8', task: null, split: 'train', bytes: 120334, errors: [] },
      { sourcePath: '/home/me/corpus/broken.gz', status: 'failed', reason: 'gzip stream is truncated', records: 0, encoding: null, task: null, split: null, bytes: 3000, errors: [] },
    ],
  })
  for (const [name, optimizer, scale] of [['mengzi-tiny lamb', 'lamb', 1], ['mengzi-tiny adamw', 'adamw', 1.2]] as const) {
    const id = insertRun(wb.db, { name, kind: 'pretrain', config: { optimizer, lr: 1e-4 }, seed: 42 })
    const metrics = new MetricWriter(wb.db, id)
    for (let step = 1; step <= 200; step++) {
      metrics.add('loss', step, scale * (2 + 8 * Math.exp(-step / 40)))
      metrics.add('lr', step, 1e-4 * Math.min(step / 20, (200 - step) / 180))
    }
    metrics.flush()
    setRunStatus(wb.db, id, 'completed', { backend: 'wasm' })
  }
  insertModel(wb.db, {
    name: 'hf-bert-tiny',
    source: 'imported',
    dir: path.join(wb.layout.models, '1'),
    config: { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 3259 },
  })
}

export interface AppSession {
  wb: Workbench
  server: RunningServer
  browser: Browser
  page: Page
  /** Console errors and page errors (CSP violations show up here). */
  errors: string[]
  close(): Promise<void>
}

/** A fresh data folder, a workbench, the loopback server over the built UI, and one Chromium page. */
export async function openApp(seed?: (wb: Workbench) => unknown): Promise<AppSession> {
  if (!fs.existsSync(path.join(builtRenderer, 'index.html'))) throw new Error('build the renderer first: npx electron-vite build')
  fs.mkdirSync(artifacts, { recursive: true })
  const tmp = tempDir()
  const wb = new Workbench({ home: tmp.dir })
  await seed?.(wb)
  const server = await serve(wb, { staticDir: builtRenderer })
  const browser = await launchChromium()
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
  const errors: string[] = []
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  page.on('pageerror', (e) => errors.push(e.message))
  return {
    wb,
    server,
    browser,
    page,
    errors,
    close: async () => {
      await browser.close()
      await server.close()
      await wb.close()
      tmp.cleanup()
    },
  }
}

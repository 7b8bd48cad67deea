// The Models view in Chromium over the loopback server: import the hf-bert-tiny fixture by a typed path
// and by a synthetic drop of a file:// URI, read its configuration, export it as float16.
import fs from 'node:fs'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serve, type RunningServer } from '../../engine/server/server'
import { Workbench } from '../../engine/service/workbench'
import { repoRoot, tempDir } from '../helpers'
import { artifacts, builtRenderer, launchChromium } from './browser'

const fixture = path.join(repoRoot, 'test/fixtures/hf-bert-tiny')
const tmp = tempDir()
let wb: Workbench
let server: RunningServer
let browser: Browser
let page: Page
const pageErrors: string[] = []

beforeAll(async () => {
  if (!fs.existsSync(path.join(builtRenderer, 'index.html'))) throw new Error('build the renderer first: npx electron-vite build')
  fs.mkdirSync(artifacts, { recursive: true })
  wb = new Workbench({ home: path.join(tmp.dir, 'home') })
  server = await serve(wb, { staticDir: builtRenderer })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()))
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(server.url)
  await page.locator('nav a[data-view=models]').click()
  await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
  await wb?.close()
  tmp.cleanup()
})

describe('Models view in Chromium', () => {
  it('imports a typed folder path and shows the configuration', async () => {
    await page.getByLabel('Folder to import').fill(fixture)
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await page.getByText('Imported “hf-bert-tiny”').waitFor()
    const detail = page.getByLabel('Model detail')
    await detail.getByText('BertForPreTraining').waitFor()
    expect(await detail.getByRole('row', { name: /Vocabulary/ }).textContent()).toContain('3259')
    await page.screenshot({ path: path.join(artifacts, 'models-imported.png'), fullPage: true })
  })

  it('imports a folder dropped onto the view', async () => {
    const uri = `file://${fixture.split('/').map(encodeURIComponent).join('/')}`
    await page.evaluate((u) => {
      const data = new DataTransfer()
      data.setData('text/uri-list', u)
      const target = document.querySelector('[data-drop=models]')!
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }))
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
    }, uri)
    await expect.poll(async () => (await wb.call('models.list', {})).length).toBe(2)
    await expect.poll(() => page.locator('table[aria-label=Models] tbody tr').count()).toBe(2)
  })

  it('exports the selected model as float16', async () => {
    const out = path.join(tmp.dir, 'exported')
    await page.getByLabel('Export precision').selectOption('float16')
    await page.getByLabel('Export folder').fill(out)
    await page.getByRole('button', { name: 'Export', exact: true }).click()
    await page.getByText(`Exported to ${out}`).waitFor()
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).dtype).toBe('float16')
    await page.screenshot({ path: path.join(artifacts, 'models-exported.png'), fullPage: true })
    expect(pageErrors).toEqual([])
  })
})

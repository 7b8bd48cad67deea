// The Models view in Chromium over the loopback server: import the hf-bert-tiny fixture by a typed path
// and by a synthetic drop of a file:// URI, read its configuration, export it as float16.
import fs from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Workbench } from '../../engine/service/workbench'
import { repoRoot } from '../helpers'
import { artifacts, openApp, type AppSession } from './browser'

const fixture = path.join(repoRoot, 'test/fixtures/hf-bert-tiny')
let app: AppSession
let wb: Workbench
let page: Page
let pageErrors: string[]

beforeAll(async () => {
  app = await openApp()
  ;({ wb, page, errors: pageErrors } = app)
  await page.goto(app.server.url)
  await page.locator('nav a[data-view=models]').click()
  await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor()
})
afterAll(() => app?.close())

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
    const out = path.join(app.wb.layout.home, 'exported')
    await page.getByLabel('Export precision').selectOption('float16')
    await page.getByLabel('Export folder').fill(out)
    await page.getByRole('button', { name: 'Export', exact: true }).click()
    await page.getByText(`Exported to ${out}`).waitFor()
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).dtype).toBe('float16')
    await page.screenshot({ path: path.join(artifacts, 'models-exported.png'), fullPage: true })
    expect(pageErrors).toEqual([])
  })
})

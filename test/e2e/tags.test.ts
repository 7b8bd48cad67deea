// The Tags view on the real built-in tagger: entities with their OntoNotes labels, POS under words, label
// toggles, the WordPiece projection, the spaCy tagger's "not available" message, and sentences picked
// from an imported dataset.
import path from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Workbench } from '../../engine/service/workbench'
import { repoRoot } from '../helpers'
import { artifacts, openApp, type AppSession } from './browser'

let app: AppSession
let page: Page
let consoleErrors: string[]

/** An imported dataset of Tang poems to pick sentences from. */
async function importPoems(wb: Workbench) {
  const { importCorpus } = await import('../../engine/data/import')
  const { done } = wb.jobs.start('import', 'seed', (ctx) =>
    importCorpus([path.join(repoRoot, 'test/fixtures/import/poems.txt')], { name: 'poems' }, { db: wb.db, layout: wb.layout, signal: ctx.signal }),
  )
  await done
}

beforeAll(async () => {
  app = await openApp(importPoems)
  ;({ page, errors: consoleErrors } = app)
  await page.goto(app.server.url)
  await page.locator('nav a[data-view=tags]').click()
})
afterAll(() => app?.close())

describe('Tags view in Chromium', () => {
  it('highlights entities and shows POS under each word', async () => {
    await page.locator('textarea[name=text]').fill('2021年10月，澜舟科技在北京发布了孟子模型，王小明说花了300万元。')
    const preview = page.getByRole('region', { name: 'Entities and parts of speech' })
    await expect.poll(() => preview.locator('mark[data-label=GPE]').allTextContents(), { timeout: 30_000 }).toEqual([expect.stringContaining('北京')])
    expect(await preview.locator('mark[data-label=PERSON]').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('王小明')]))
    expect(await preview.locator('mark[data-label=DATE]').count()).toBeGreaterThan(0)
    expect(await preview.locator('rt.pos').allTextContents()).toEqual(expect.arrayContaining(['PROPN', 'VERB', 'PUNCT']))
    const gpeColor = await preview.locator('mark[data-label=GPE]').first().evaluate((el) => getComputedStyle(el).backgroundColor)
    expect(gpeColor).toBe('rgb(254, 202, 116)') // displaCy's GPE colour, applied under the strict CSP
    await page.screenshot({ path: path.join(artifacts, 'tags.png'), fullPage: true })
  })

  it('toggles a label off and on from the legend', async () => {
    const preview = page.getByRole('region', { name: 'Entities and parts of speech' })
    await page.getByRole('button', { name: 'GPE' }).click()
    await expect.poll(() => preview.locator('mark[data-label=GPE]').count()).toBe(0)
    expect(await page.getByRole('button', { name: 'GPE' }).getAttribute('aria-pressed')).toBe('false')
    await page.getByRole('button', { name: 'GPE' }).click()
    await expect.poll(() => preview.locator('mark[data-label=GPE]').count()).toBe(1)
  })

  it('shows the BIO/POS sequence over WordPiece tokens', async () => {
    const pieces = page.getByRole('list', { name: 'Tags projected onto WordPiece tokens' }).locator('li')
    expect(await pieces.count()).toBeGreaterThan(20)
    const bj = pieces.filter({ has: page.locator('.wp-token', { hasText: /^北$/ }) })
    await expect(bj.locator('.wp-ent').textContent()).resolves.toBe('B-GPE')
    const jing = pieces.filter({ has: page.locator('.wp-token', { hasText: /^京$/ }) })
    await expect(jing.locator('.wp-ent').textContent()).resolves.toBe('I-GPE')
  })

  it('says how to enable spaCy when it is not installed', async () => {
    await page.locator('select[name=tagger]').selectOption('spacy')
    await expect(page.getByRole('alert').textContent({ timeout: 30_000 })).resolves.toMatch(/spaCy/i)
    await page.screenshot({ path: path.join(artifacts, 'tags-spacy-unavailable.png') })
    await page.locator('select[name=tagger]').selectOption('builtin')
    await page.getByRole('region', { name: 'Entities and parts of speech' }).waitFor()
  })

  it('tags a sentence picked from an imported dataset', async () => {
    await page.getByText('From a dataset: sentences and tag distributions').click()
    await page.locator('select[name=dataset]').selectOption({ label: 'poems' })
    await page.locator('input[name=sentenceQuery]').fill('杜甫')
    await page.getByRole('button', { name: 'Show sentences' }).click()
    const first = page.locator('.sentences button').first()
    await first.waitFor()
    const chosen = (await first.textContent())!.trim()
    await first.click()
    await expect.poll(() => page.locator('textarea[name=text]').inputValue()).toContain(chosen.slice(0, 20))
    const preview = page.getByRole('region', { name: 'Entities and parts of speech' })
    await expect.poll(async () => (await preview.textContent()) ?? '', { timeout: 30_000 }).toContain('杜甫')
    await page.screenshot({ path: path.join(artifacts, 'tags-dataset-sentence.png'), fullPage: true })
  })

  it('tags the whole dataset as a job and charts its tag distribution', async () => {
    await page.getByRole('button', { name: 'Tag the whole dataset' }).click()
    await page.getByText('Universal POS in the dataset').waitFor({ timeout: 90_000 })
    await expect(page.locator('.dataset-tags').textContent()).resolves.toMatch(/40 records, [\d,]+ words tagged by builtin/)
    const datasetId = (await app.wb.call('datasets.list', {}))[0].id
    const summary = await app.wb.call('tags.summary', { id: datasetId })
    expect(summary!.tagged).toBe(40)
    expect(summary!.distribution.pos.PUNCT).toBeGreaterThan(0)
    await page.screenshot({ path: path.join(artifacts, 'tags-dataset-distribution.png'), fullPage: true })
  })

  it('runs without CSP violations', () => {
    expect(consoleErrors).toEqual([])
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { methodNames, methods, parseInput } from '../../../engine/service/api'
import { Workbench } from '../../../engine/service/workbench'
import { WorkbenchError } from '../../../engine/errors'
import { tempDir } from '../../helpers'

// For each method, payloads that must be refused. Every method refuses non-objects and unknown keys.
const malformed: Record<string, unknown[]> = {
  'settings.update': [{ theme: 'purple' }, { backend: 'cuda' }, { spacyPython: '' }, { dataHome: '/elsewhere' }],
  'datasets.get': [{}, { id: 'x' }, { id: -1 }, { id: 1.5 }],
  'runs.get': [{}, { id: 0 }],
  'runs.metrics': [{ id: 1, names: 'loss' }, { id: 1, names: [''] }, { names: ['loss'] }],
  'models.get': [{ id: null }],
  'jobs.cancel': [{}, { id: 5 }, { id: '' }],
}

describe('API schemas', () => {
  for (const name of methodNames) {
    it(`${name} refuses malformed payloads with a one-line reason naming the method and field`, () => {
      for (const bad of [42, 'text', [], { unexpected: true }, ...(malformed[name] ?? [])]) {
        let error: unknown
        try {
          parseInput(name, bad)
        } catch (err) {
          error = err
        }
        expect(error, `${name} accepted ${JSON.stringify(bad)}`).toBeInstanceOf(WorkbenchError)
        const e = error as WorkbenchError
        expect(e.code).toBe('BAD_INPUT')
        expect(e.message.startsWith(`${name}: `)).toBe(true)
        expect(e.message).not.toContain('\n')
      }
    })
  }

  it('names the offending field', () => {
    expect(() => parseInput('datasets.get', { id: 'x' })).toThrow(/^datasets\.get: id: /)
    expect(() => parseInput('runs.metrics', { id: 1, names: [''] })).toThrow(/^runs\.metrics: names\.0: /)
    expect(() => parseInput('settings.update', { theme: 'purple' })).toThrow(/^settings\.update: theme: /)
  })

  it('accepts well-formed payloads', () => {
    expect(parseInput('datasets.get', { id: 3 })).toEqual({ id: 3 })
    expect(parseInput('app.version', undefined)).toEqual({})
    expect(parseInput('settings.update', { theme: 'dark', spacyPython: null })).toEqual({ theme: 'dark', spacyPython: null })
  })

  it('covers every method with an input schema', () => {
    for (const name of methodNames) expect(methods[name].input).toBeDefined()
  })
})

describe('Workbench.dispatch', () => {
  const tmp = tempDir()
  let wb: Workbench
  beforeAll(() => (wb = new Workbench({ home: tmp.dir })))
  afterAll(async () => {
    await wb.close()
    tmp.cleanup()
  })

  it('refuses unknown methods', async () => {
    await expect(wb.dispatch('datasets.drop', {})).rejects.toThrow(/unknown API method "datasets.drop"/)
    await expect(wb.dispatch('__proto__', {})).rejects.toThrow(/unknown API method/)
    await expect(wb.dispatch(undefined, {})).rejects.toThrow(/unknown API method/)
  })

  it('answers NOT_FOUND for a missing id', async () => {
    await expect(wb.call('runs.get', { id: 12345 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'run 12345 does not exist' })
  })

  it('stores settings and announces the change', async () => {
    const seen: unknown[] = []
    const off = wb.subscribe((e) => seen.push(e))
    const s = await wb.call('settings.update', { theme: 'dark', backend: 'wasm' })
    off()
    expect(s).toMatchObject({ theme: 'dark', backend: 'wasm', spacyPython: null, dataHome: tmp.dir })
    expect(await wb.call('settings.get', {})).toEqual(s)
    expect(seen).toEqual([{ type: 'settings.changed', settings: s }])
  })

  it('reports versions as JSON-safe data', async () => {
    const v = await wb.call('app.version', {})
    expect(v.node).toBe(process.versions.node)
    expect(JSON.parse(JSON.stringify(v))).toEqual(v)
  })
})

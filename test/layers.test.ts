// The layering rules of DESIGN.md, checked on the sources (our lint rule): the engine never imports
// Electron; engine folders import only from folders below them; only engine/store touches SQLite; the renderer takes nothing but types from the engine and
// the preload, and never imports Node built-ins.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from './helpers'

function sources(dir: string, exts = ['.ts', '.vue']): string[] {
  const out: string[] = []
  for (const entry of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && exts.some((e) => entry.name.endsWith(e))) out.push(path.join(entry.parentPath, entry.name))
  }
  return out
}

/** Every import/require specifier in a file, with whether it is type-only. */
function imports(file: string): { spec: string; typeOnly: boolean }[] {
  const text = fs.readFileSync(file, 'utf8')
  const found: { spec: string; typeOnly: boolean }[] = []
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    found.push({ spec: m[3], typeOnly: !!m[2] })
  }
  for (const m of text.matchAll(/(?:import\(|require\()\s*['"]([^'"]+)['"]/g)) found.push({ spec: m[1], typeOnly: false })
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) found.push({ spec: m[1], typeOnly: false })
  return found
}

const rel = (f: string) => path.relative(repoRoot, f)

/** DESIGN.md's engine layers, bottom-up: a folder imports only from folders before it (files at engine/ are shared). */
const ENGINE_LAYERS = ['store', 'data', 'text', 'tagging', 'compute', 'native', 'model', 'tasks', 'train', 'launch', 'service', 'server', 'cli']

/** The engine layer a file belongs to, or null for files at engine/'s top (errors, paths, worker-thread). */
function engineLayer(file: string): string | null {
  const parts = path.relative(path.join(repoRoot, 'engine'), file).split(path.sep)
  return parts.length > 1 && ENGINE_LAYERS.includes(parts[0]) ? parts[0] : null
}

/** Every relative import of a file, resolved to an absolute path (without extension). */
function relativeTargets(file: string): string[] {
  return imports(file)
    .filter((i) => i.spec.startsWith('.'))
    .map((i) => path.resolve(path.dirname(file), i.spec))
}

describe('layers', () => {
  it('engine/ never imports electron', () => {
    const offenders = sources('engine').filter((f) => imports(f).some((i) => i.spec === 'electron' || i.spec.startsWith('electron/')))
    expect(offenders.map(rel)).toEqual([])
  })

  it('engine/ layers import only downward (store → data → text → native → tagging → compute → model → tasks → train → launch → service → server/cli)', () => {
    const offenders: string[] = []
    for (const f of sources('engine')) {
      const from = engineLayer(f)
      for (const target of relativeTargets(f)) {
        if (!target.startsWith(path.join(repoRoot, 'engine') + path.sep)) continue
        const to = engineLayer(target + '.ts')
        if (from === null && to !== null) offenders.push(`${rel(f)} → ${rel(target)} (a shared top-level file imports a layer)`)
        else if (from !== null && to !== null && ENGINE_LAYERS.indexOf(to) > ENGINE_LAYERS.indexOf(from)) offenders.push(`${rel(f)} → ${rel(target)}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('the layer rule sees an upward import (the check itself works)', () => {
    const model = path.join(repoRoot, 'engine/model/x.ts')
    const train = path.join(repoRoot, 'engine/train/y.ts')
    expect(ENGINE_LAYERS.indexOf(engineLayer(train)!)).toBeGreaterThan(ENGINE_LAYERS.indexOf(engineLayer(model)!))
    expect(engineLayer(path.join(repoRoot, 'engine/errors.ts'))).toBeNull()
  })

  it('no two modules of the renderer import each other (directly or through a cycle)', () => {
    const graph = new Map<string, string[]>()
    for (const f of sources('renderer/src', ['.ts'])) {
      graph.set(f.replace(/\.ts$/, ''), relativeTargets(f))
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === 'done') return
      if (state.get(node) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].map((n) => rel(n)).join(' → '))
        return
      }
      state.set(node, 'open')
      for (const next of graph.get(node) ?? []) if (graph.has(next)) visit(next, [...trail, node])
      state.set(node, 'done')
    }
    for (const node of graph.keys()) visit(node, [])
    expect(cycles).toEqual([])
  })

  it('only engine/store imports better-sqlite3', () => {
    const offenders = [...sources('engine'), ...sources('main'), ...sources('renderer')]
      .filter((f) => !rel(f).startsWith(`engine${path.sep}store${path.sep}`))
      .filter((f) => imports(f).some((i) => i.spec === 'better-sqlite3' && !i.typeOnly))
    expect(offenders.map(rel)).toEqual([])
  })

  it('the renderer imports only types from engine/ and preload/, and no Node built-ins', () => {
    // Exceptions: the build-time CSP plugin, the tag preview renderer, a pure function over plain data
    // shared by the UI and exports (STYLE.md rule 10), the binary series frame's format, plain JS
    // that the server encodes and the page decodes (one implementation of the wire format), and the
    // sentences Settings and `mengzi backends` both say about the GPU adapter.
    const sharedPure = /engine\/(tagging\/render|server\/csp|service\/series-wire|service\/backend-lines)$/
    const offenders: string[] = []
    for (const f of sources('renderer')) {
      for (const i of imports(f)) {
        const crossesIn = /(^|\/)(engine|preload)\//.test(i.spec) && i.spec.startsWith('.')
        if ((crossesIn && !i.typeOnly && !sharedPure.test(i.spec)) || i.spec.startsWith('node:') || i.spec === 'electron') {
          offenders.push(`${rel(f)} → ${i.spec}`)
        }
      }
    }
    expect(offenders).toEqual([])
  })

  it('the shared pure modules the renderer uses import nothing from Node', () => {
    for (const shared of ['engine/tagging/render.ts', 'engine/server/csp.ts', 'engine/service/backend-lines.ts']) {
      const specs = imports(path.join(repoRoot, shared)).filter((i) => !i.typeOnly).map((i) => i.spec)
      expect(specs, shared).toEqual([])
    }
  })

  it('main/ stays thin: no engine module beyond the service, paths, errors and the CSP', () => {
    const allowed = /engine\/(service\/workbench|paths|errors|server\/csp)$/
    const offenders = sources('main').flatMap((f) =>
      imports(f)
        .filter((i) => i.spec.includes('engine/') && !i.typeOnly && !allowed.test(i.spec))
        .map((i) => `${rel(f)} → ${i.spec}`),
    )
    expect(offenders).toEqual([])
  })
})

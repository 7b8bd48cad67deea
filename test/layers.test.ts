// The layering rules of DESIGN.md, checked on the sources (our lint rule): the engine never imports
// Electron; only engine/store touches SQLite; the renderer takes nothing but types from the engine and
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

describe('layers', () => {
  it('engine/ never imports electron', () => {
    const offenders = sources('engine').filter((f) => imports(f).some((i) => i.spec === 'electron' || i.spec.startsWith('electron/')))
    expect(offenders.map(rel)).toEqual([])
  })

  it('only engine/store imports better-sqlite3', () => {
    const offenders = [...sources('engine'), ...sources('main'), ...sources('renderer')]
      .filter((f) => !rel(f).startsWith(`engine${path.sep}store${path.sep}`))
      .filter((f) => imports(f).some((i) => i.spec === 'better-sqlite3' && !i.typeOnly))
    expect(offenders.map(rel)).toEqual([])
  })

  it('the renderer imports only types from engine/ and preload/, and no Node built-ins', () => {
    // Exceptions: the build-time CSP plugin, and the tag preview renderer, a pure function over plain data
    // shared by the UI and exports (STYLE.md rule 10).
    const sharedPure = /engine\/(tagging\/render|server\/csp)$/
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
    for (const shared of ['engine/tagging/render.ts', 'engine/server/csp.ts']) {
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

import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { repoRoot, tempDir } from '../helpers'

const run = promisify(execFile)
const tmp = tempDir()
const db = path.join(tmp.dir, 'cli.db')
afterAll(() => tmp.cleanup())

async function mengzi(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), ...args], {
      env: { ...process.env, MENGZI_HOME: tmp.dir },
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

// Each call starts Node + tsx; on a loaded 2-core machine that takes seconds.
describe('mengzi CLI', { timeout: 120_000 }, () => {
  it('prints its version and help', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default
    expect((await mengzi('--version')).stdout.trim()).toBe(pkg.version)
    const help = await mengzi('--help')
    expect(help.code).toBe(0)
    for (const cmd of ['serve', 'datasets', 'runs', 'models']) expect(help.stdout).toContain(cmd)
  })

  it('lists an empty database for people and for machines', async () => {
    const human = await mengzi('datasets', '--db', db)
    expect(human).toMatchObject({ code: 0 })
    expect(human.stdout).toContain('No datasets yet')
    for (const cmd of ['datasets', 'runs', 'models']) {
      const r = await mengzi(cmd, '--db', db, '--json')
      expect(JSON.parse(r.stdout)).toEqual([])
    }
  })

  it('fails with a one-line reason and a non-zero exit on bad input', async () => {
    const badPort = await mengzi('serve', '--port', '99999', '--db', db)
    expect(badPort.code).not.toBe(0)
    expect(badPort.stderr.trim().split('\n')).toEqual(['mengzi: --port: expected 0..65535, got "99999"'])
    const unknown = await mengzi('frobnicate')
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1)
    const badDb = await mengzi('runs', '--db', '/dev/null/x.db')
    expect(badDb.code).not.toBe(0)
    expect(badDb.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^mengzi: cannot open the database \/dev\/null\/x.db: /)])
  })

  it('serve prints one JSON line with a loopback URL whose API needs the token', async () => {
    const { spawn } = await import('node:child_process')
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), 'serve', '--json', '--db', db], {
      env: { ...process.env, MENGZI_HOME: tmp.dir },
    })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (c) => {
          out += c
          if (out.includes('\n')) resolve(out.split('\n')[0])
        })
        child.on('exit', (code) => reject(new Error(`serve exited ${code}`)))
      })
      const { url } = JSON.parse(line) as { url: string }
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=.{16,}$/)
      const u = new URL(url)
      expect((await fetch(`${u.origin}/api/version`)).status).toBe(401)
      const ok = await fetch(`${u.origin}/api/version`, { headers: { Authorization: `Bearer ${u.searchParams.get('token')}` } })
      expect(ok.status).toBe(200)
    } finally {
      child.kill('SIGTERM')
    }
  })
})

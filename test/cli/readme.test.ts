// The README's Headless commands, read from the README itself and run in order as a newcomer would, on a
// fresh MENGZI_HOME: the example paths become small real files, training runs a few steps, and `serve`
// builds the UI into an empty folder on first use and answers the page. A README that drifts from the
// commands (a renamed flag, a new placeholder, a command that fails) fails this test.
import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { repoRoot, tempDir } from '../helpers'

const run = promisify(execFile)
const tmp = tempDir('mengzi-readme-')
afterAll(() => tmp.cleanup())
const home = path.join(tmp.dir, 'home')
const uiDir = path.join(tmp.dir, 'ui') // empty: serve must build it
const env = { ...process.env, MENGZI_HOME: home, MENGZI_UI_DIR: uiDir }
const BANNER = /looks like you are running TensorFlow\.js/

/** The `npx mengzi …` lines of the first sh block under "## Headless", comments dropped. */
function readmeCommands(): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Headless'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter((l) => l.startsWith('npx mengzi'))
}

/** Shell words: whitespace splits, single and double quotes group (anywhere in a word) and are removed. */
function words(line: string): string[] {
  const out: string[] = []
  let word: string | null = null
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1)
      word = (word ?? '') + line.slice(i + 1, end)
      i = end
    } else if (/\s/.test(c)) {
      if (word !== null) out.push(word)
      word = null
    } else word = (word ?? '') + c
  }
  if (word !== null) out.push(word)
  return out
}

async function mengzi(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), ...args], { cwd: tmp.dir, env, maxBuffer: 64 << 20 })
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    throw new Error(`mengzi ${args.join(' ')} exited ${e.code}: ${e.stderr || e.stdout}`)
  }
}

describe("the README's Headless commands", () => {
  // ~20 s of CPU (a dozen Node starts, 3 training steps, one renderer build); minutes of wall time on a loaded machine
  it('run in order on a fresh data folder', { timeout: 300_000 }, async () => {
    // small real files in place of the README's example paths
    const corpus = path.join(tmp.dir, 'tang300.txt.gz')
    fs.writeFileSync(corpus, zlib.gzipSync(fs.readFileSync(path.join(repoRoot, 'test/fixtures/import/fortunes-tang300.txt'))))
    const texts = path.join(tmp.dir, 'texts.jsonl')
    fs.writeFileSync(texts, ['孟子见梁惠王。', '床前明月光，疑是地上霜。'].map((t) => JSON.stringify(t)).join('\n'))
    const placeholders: Record<string, string> = {
      '~/corpora/*.txt.gz': corpus,
      './mengzi-bert-base': path.join(repoRoot, 'test/fixtures/hf-bert-tiny'),
      'vocab.txt': path.join(repoRoot, 'resources/vocab/vocab.txt'),
      'texts.jsonl': texts,
      './my-bert': path.join(tmp.dir, 'my-bert'),
    }
    const used = new Set<string>()
    const outputs: Record<string, string> = {}
    const ran: string[] = []
    let serveLine: string[] | null = null

    for (const line of readmeCommands()) {
      let argv = words(line).slice(2).map((w) => {
        if (w in placeholders) used.add(w)
        return placeholders[w] ?? w
      })
      if (argv[0] === 'bench') continue // benchmarks time the machine; they are not tests
      if (argv[0] === 'serve') {
        serveLine = argv
        continue // run last, against what the other commands made
      }
      if (line.includes(' | ')) {
        // `datasets | runs | models [--json]`: each of them, for machines
        for (const cmd of line.replace('npx mengzi', '').replace('[--json]', '').split('|')) {
          const { stdout, stderr } = await mengzi([cmd.trim(), '--json'])
          expect(stderr).not.toMatch(BANNER)
          outputs[cmd.trim()] = stdout
          ran.push(cmd.trim())
        }
        continue
      }
      // a few training steps instead of the preset's 2,000, on the cpu backend: the one whose first use
      // printed tfjs's "install tfjs-node" banner
      // compare: the README's example run ids become the run this newcomer trained
      if (argv[0] === 'compare') {
        const trained = JSON.parse(outputs.train.trim().split('\n').at(-1)!) as { runId: number }
        argv = ['compare', ...new Set(argv.slice(1).map((w) => (/^\d+$/.test(w) ? String(trained.runId) : w)))]
      }
      if (argv[0] === 'train') argv.push('--set', 'totalSteps=3', '--set', 'batchSize=2', '--set', 'maxSeqLength=32', '--set', 'checkpointEvery=0', '--set', 'backend="cpu"')
      const { stdout, stderr } = await mengzi(argv)
      expect(stderr, line).not.toMatch(BANNER)
      outputs[argv[0] === 'model' ? `model ${argv[1]}` : argv[0]] = stdout
      ran.push(argv[0])
    }
    expect(ran).toEqual(['--help', 'datasets', 'runs', 'models', 'import', 'tag', 'model', 'tokenize', 'train', 'export', 'compare', 'backends'])
    expect([...used].sort()).toEqual(Object.keys(placeholders).sort()) // every example path is still in the README

    expect(outputs['--help']).toMatch(/serve/)
    expect(JSON.parse(outputs.datasets)).toEqual([])
    expect(outputs.import).toMatch(/Dataset 1 "news" \(text\): 24 records/)
    const [tagged] = JSON.parse(outputs.tag) as { tokens: { text: string; pos: string }[]; ents: { text: string; label: string }[] }[]
    expect(tagged.tokens.map((w) => w.text).join('')).toBe('孟子见梁惠王。')
    expect(tagged.ents).toContainEqual(expect.objectContaining({ text: '孟子', label: 'PERSON' }))
    const encoded = outputs.tokenize.trim().split('\n').map((l) => JSON.parse(l))
    expect(encoded).toHaveLength(2)
    expect(encoded[0].input_ids).toHaveLength(128)
    // --json: progress lines, then one object with the run and its status
    expect(JSON.parse(outputs.train.trim().split('\n').at(-1)!)).toMatchObject({ runId: 1, status: 'completed' })
    expect(outputs.compare).toMatch(/^\|.*\|$/m) // a Markdown table
    expect(fs.readdirSync(placeholders['./my-bert']).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']))
    const runs = JSON.parse((await mengzi(['runs', '--json'])).stdout)
    expect(runs[0]).toMatchObject({ id: 1, status: 'completed', backendDetail: expect.stringMatching(/^using cpu: /m) })

    // serve: builds the UI into the empty folder on first use, then answers the page and the API
    expect(serveLine).toEqual(['serve'])
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/mengzi.js'), 'serve', '--json'], { cwd: tmp.dir, env })
    try {
      let stderr = ''
      child.stderr.on('data', (c) => (stderr += c))
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (c) => {
          out += c
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).url)
        })
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)))
      })
      // stderr is a separate pipe: its last line may arrive just after the URL on stdout
      for (let i = 0; i < 50 && !stderr.includes('UI built'); i++) await new Promise((r) => setTimeout(r, 100))
      expect(stderr, JSON.stringify(stderr)).toMatch(/^Building the UI once .*\nUI built in [\d.]+ s\.\n$/)
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await page.text()).toMatch(/<div id="app">/)
      const u = new URL(url)
      const models = await fetch(`${u.origin}/api/models.list`, { method: 'POST', headers: { Authorization: `Bearer ${u.searchParams.get('token')}` }, body: '{}' })
      expect(((await models.json()) as { result: unknown[] }).result).toHaveLength(2) // imported + trained
    } finally {
      child.kill('SIGTERM')
    }
  })
})

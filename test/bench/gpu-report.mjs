// gpu-vs-torch.sh's report, in plain JavaScript (it runs under the Node binary carried to a GPU machine,
// with no packages): JSON lines on stdin, one per PyTorch run ({ torch: "fp32" | "fp16", result }) and
// one per variant of ours (gpu-bench-entry.ts --variants: { variant, ...TrainBenchResult } or
// { variant, notRun } or { variant, failed }), and where a run died, its reason ({ torch, result: null,
// error }: Python's last stderr line; { oursExit, stderr }: the end of our process's stderr), become the config's table row, for the times-*
// variants the GPU's time per kernel (top 15), and for the variants that tuned their products on the
// device (matmul-tune.ts) each class's time with each kernel and the one chosen.
//   node gpu-report.mjs --header                   the table's header
//   node gpu-report.mjs --config BASE [--json] < lines   the header and the config's row (then kernel times)
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

/** The table's columns after the config: [title, cell of the parsed lines]. */
const COLUMNS = [
  ['PyTorch CUDA fp32 ms/step', (r) => torchCell(r.torch.fp32)],
  ['PyTorch AMP fp16', (r) => torchCell(r.torch.fp16)],
  ['ours, our WGSL kernels (host ms, dispatches)', (r) => cell(r.variants.fused, (v) => `${ms(v)} (${v.medianHostMs.toFixed(1)}, ${v.gpuWork?.dispatches ?? '?'})`)],
  ['ours, fp16', (r) => cell(r.variants.fp16)],
  ['ours, untuned (64×64 products)', (r) => cell(r.variants.untuned)],
  ['ours / PyTorch fp32', (r) => ratio(r.variants.fused, r.torch.fp32)],
  ['ours fp16 / PyTorch fp32', (r) => ratio(r.variants.fp16, r.torch.fp32)],
  ['ours, fp16 on the matrix units where tuning picks them (shapes)', (r) => cell(r.variants['fp16-matrix'], (v) => `${ms(v)} (${v.matrixShapes?.length ? v.matrixShapes.join(', ') : 'none offered: tiled'})`)],
  ['ours fp16 matrix / PyTorch AMP fp16', (r) => ratio(r.variants['fp16-matrix'], r.torch.fp16)],
  ['ours, no split-K', (r) => cell(r.variants.unsplit)],
  ['ours, Q, K, V projections apart', (r) => cell(r.variants['qkv-apart'])],
  ['ours, attention 4 threads per row', (r) => cell(r.variants.lanes, (v) => `${ms(v)}${v.attentionLanes ? '' : ' (rows: no subgroups)'}`)],
  ['ours, subgroup product', (r) => cell(r.variants.subgroups, (v) => `${ms(v)} (${v.matmulSubgroups ? `G ${v.matmulSubgroups}` : 'tiled: no subgroups'})`)],
  ['ours, 128×128 tiles', (r) => cell(r.variants.wide)],
  ['ours, 128×128 tiles for large products', (r) => cell(r.variants['wide-auto'])],
  ['ours, bind groups made anew (host ms)', (r) => cell(r.variants.anew, (v) => `${ms(v)} (${v.medianHostMs.toFixed(1)})`)],
  ['ours, submit every 64', (r) => cell(r.variants.submit64)],
  ['ours, pipelined', (r) => cell(r.variants.pipelined)],
  ['ours, waits yielding the CPU', (r) => cell(r.variants.yield)],
  ['ours, stock tfjs-webgpu kernels', (r) => cell(r.variants.stock)],
]

const ms = (v) => v.medianStepMs.toFixed(1)

function torchCell(result) {
  if (result === undefined) return 'n/a (no CUDA torch, or past the budget)'
  if (result?.failed) return `failed: ${result.failed.slice(0, 80)}`
  return result ? ms(result) : 'failed'
}

/** A variant's cell: its ms (or `show`), "skipped" past the deadline, "n/a" or "failed" with the reason. */
function cell(v, show = ms) {
  if (!v) return '—'
  if (v.notRun) return `skipped (${v.notRun})`
  if (v.failed) return /shader-f16/.test(v.failed) ? 'n/a (no shader-f16)' : `failed: ${v.failed.slice(0, 80)}`
  return show(v)
}

function ratio(ours, torch) {
  if (!ours?.medianStepMs || !torch?.medianStepMs) return 'n/a'
  return `${(ours.medianStepMs / torch.medianStepMs).toFixed(1)}×`
}

/**
 * The lines of one config → { torch: { fp32, fp16 }, variants: { name: line }, died, stray: [reasons] }:
 * a PyTorch run that failed is { failed: its reason }; `died` is our process's exit ({ oursExit, stderr })
 * when it ended before its variants did; a line that is not JSON (a crash's output on stdout) is named in
 * `stray`, and the rest still make the row.
 */
export function parseLines(text) {
  const parsed = { torch: {}, variants: {}, died: null, stray: [] }
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return
    let value
    try {
      value = JSON.parse(line)
    } catch {
      parsed.stray.push(`gpu-report: line ${i + 1} is not JSON: ${line.slice(0, 120)}`)
      return
    }
    if (value.torch) parsed.torch[value.torch] = value.result === null && value.error ? { failed: value.error } : value.result
    else if (value.oursExit !== undefined) parsed.died = value
    else if (value.variant) parsed.variants[value.variant] = value
  })
  return parsed
}

export const header = () => `| config | ${COLUMNS.map(([title]) => title).join(' | ')} |\n|${'---|'.repeat(COLUMNS.length + 1)}`

export const row = (config, parsed) => `| ${config} | ${COLUMNS.map(([, f]) => f(parsed)).join(' | ')} |`

/** Why our process ended early: its exit code and the end of its stderr. */
export const died = (d) => `ours: the bench process exited with code ${d.oursExit}; its stderr ended:\n${(d.stderr || '(nothing)').split('\n').map((l) => `    ${l}`).join('\n')}`

/** The kernel-time tables of the times-* variants that ran. */
export function kernelTimes(config, parsed) {
  const out = []
  for (const [name, v] of Object.entries(parsed.variants)) {
    if (!name.startsWith('times-')) continue
    const t = v.kernelTimes
    if (!t) {
      out.push(`\nkernel times, ${config} ${name.slice(6)}: ${v.notRun ? `skipped (${v.notRun})` : v.failed ? `failed: ${v.failed.slice(0, 80)}` : 'n/a (no timestamp-query)'}`)
      continue
    }
    out.push(`\nkernel times, ${config} ${name.slice(6)}: ${t.totalMs.toFixed(2)} ms of GPU time in one step (each dispatch in its own pass; untimed step ${ms(v)} ms), top 15`)
    out.push('| kernel | dispatches | GPU ms | share |\n|---|---|---|---|')
    for (const k of t.kernels.slice(0, 15)) out.push(`| ${k.kernel} | ${k.dispatches} | ${k.ms.toFixed(3)} | ${((100 * k.ms) / t.totalMs).toFixed(1)}% |`)
  }
  return out.join('\n')
}

/** The product tuning of each variant that tuned (matmulTuning): per class, ms with each kernel and the choice. */
export function tunings(config, parsed) {
  const out = []
  for (const [name, v] of Object.entries(parsed.variants)) {
    const t = v.matmulTuning
    if (!t || t.products.length === 0) continue
    const kernels = [...new Set(t.products.flatMap((p) => p.candidates.map((c) => c.kernel)))]
    out.push(`\nproduct kernels tuned, ${config} ${name}: ${t.products.length} classes in ${t.seconds.toFixed(1)} s (${t.timing}), ms per product`)
    out.push(`| product | ${kernels.join(' | ')} | chosen |\n|${'---|'.repeat(kernels.length + 2)}`)
    for (const p of t.products) {
      const at = (k) => {
        const c = p.candidates.find((x) => x.kernel === k)
        return !c ? '—' : c.rejected ? `set aside: ${c.rejected.slice(0, 80)}` : c.ms === null ? '—' : c.ms.toFixed(3)
      }
      out.push(`| ${p.product} | ${kernels.map(at).join(' | ')} | ${p.chosen} |`)
    }
  }
  return out.join('\n')
}

function main(argv) {
  if (argv.includes('--header')) return console.log(header())
  const at = argv.indexOf('--config')
  const config = at >= 0 ? argv[at + 1] : undefined
  if (!config) throw new Error('gpu-report: --header, or --config NAME with the lines on stdin')
  const parsed = parseLines(readFileSync(0, 'utf8'))
  for (const reason of parsed.stray) console.error(reason)
  if (argv.includes('--json')) return console.log(JSON.stringify({ config, torch: parsed.torch.fp32 ?? null, torchAmp: parsed.torch.fp16 ?? null, variants: parsed.variants, died: parsed.died }))
  console.log(`${header()}\n${row(config, parsed)}`)
  const fused = parsed.variants.fused
  if (fused?.backendDetail) console.error(`adapter: ${fused.backendDetail}`)
  if (parsed.died) console.log(`\n${died(parsed.died)}`)
  const times = kernelTimes(config, parsed)
  if (times) console.log(times)
  const tuned = tunings(config, parsed)
  if (tuned) console.log(tuned)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2))

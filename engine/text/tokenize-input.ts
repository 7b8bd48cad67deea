// Input of `mengzi tokenize`: a JSON array (of strings, or of [a, b] pairs with --pair) or JSON lines (a
// string per line, or [a, b] with --pair). Errors name the source and line and quote the value.
import { badInput } from '../errors'

export type TokenizeItem = string | [string, string]

export function parseTokenizeInput(text: string, pair: boolean, source: string): TokenizeItem[] {
  const trimmed = text.trim()
  if (trimmed === '') return []
  if (trimmed.startsWith('[')) {
    let whole: unknown
    try {
      whole = JSON.parse(trimmed)
    } catch {
      whole = undefined // not one JSON value: JSON lines whose lines are arrays
    }
    // one line holding a single pair reads the same as an array of two strings: with --pair it is a pair
    const singlePair = pair && Array.isArray(whole) && whole.length === 2 && whole.every((x) => typeof x === 'string')
    if (Array.isArray(whole) && !singlePair) return whole.map((v, k) => checkItem(v, pair, `${source}: item ${k}`))
  }
  const items: TokenizeItem[] = []
  const lines = text.split('\n')
  lines.forEach((line, k) => {
    if (line.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw badInput(`${source}:${k + 1}: not JSON: ${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)}`)
    }
    items.push(checkItem(value, pair, `${source}:${k + 1}`))
  })
  return items
}

function checkItem(value: unknown, pair: boolean, where: string): TokenizeItem {
  if (pair) {
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') return [value[0], value[1]]
    throw badInput(`${where}: expected a pair of strings [a, b], got ${preview(value)}`)
  }
  if (typeof value === 'string') return value
  throw badInput(`${where}: expected a string${Array.isArray(value) ? ' (use --pair for [a, b] pairs)' : ''}, got ${preview(value)}`)
}

function preview(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value)
  return s.length > 60 ? `${s.slice(0, 60)}…` : s
}

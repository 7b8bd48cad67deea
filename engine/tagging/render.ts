// A displaCy-like renderer (spaCy's displacy "ent" style) over plain data: a tagged document in, one HTML
// string out. Pure: no DOM, no state; every piece of text and every label is HTML-escaped. Shared by the
// Tags view and any export.
import type { TaggedDoc } from './types'

// displaCy's default entity colours (spacy/displacy/render.py), so that the preview looks like spaCy's.
export const ENTITY_COLORS: Record<string, string> = {
  ORG: '#7aecec',
  PRODUCT: '#bfeeb7',
  GPE: '#feca74',
  LOC: '#ff9561',
  PERSON: '#aa9cfc',
  NORP: '#c887fb',
  FAC: '#9cc9cc',
  EVENT: '#ffeb80',
  LAW: '#ff8197',
  LANGUAGE: '#ff8197',
  WORK_OF_ART: '#f0d0ff',
  DATE: '#bfe1d9',
  TIME: '#bfe1d9',
  MONEY: '#e4e7d2',
  QUANTITY: '#e4e7d2',
  ORDINAL: '#e4e7d2',
  CARDINAL: '#e4e7d2',
  PERCENT: '#e4e7d2',
}
const DEFAULT_COLOR = '#ddd'

export interface RenderOptions {
  /** Show each token's Universal POS under it. */
  showPos?: boolean
  /** Only these entity labels are highlighted (the legend's toggles); all when absent. */
  labels?: string[]
  /** Colour per label, over displaCy's defaults. */
  colors?: Record<string, string>
  /** Add a legend of the labels present. */
  legend?: boolean
  /**
   * Inline style attributes (displaCy's look in a standalone HTML file). The app's strict CSP refuses
   * style attributes in markup, so the UI renders without them and colours `[data-label]` itself.
   */
  inlineStyles?: boolean
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

const textHtml = (text: string) => escapeHtml(text).replace(/\n/g, '<br>')

interface Piece {
  start: number
  end: number
  pos: string | null // the token's POS on the piece that starts a token
  entity: number // index into ents, -1 outside
}

/** Text split at every token and entity boundary, so that tokens and entities may cross each other. */
function pieces(doc: TaggedDoc, ents: TaggedDoc['ents'], withTokens: boolean): Piece[] {
  const cuts = new Set([0, doc.text.length])
  for (const e of ents) cuts.add(e.start).add(e.end)
  const tokenStarts = new Map<number, string>()
  if (withTokens) for (const t of doc.tokens) tokenStarts.set(t.start, t.pos), cuts.add(t.start).add(t.end)
  const points = [...cuts].filter((p) => p >= 0 && p <= doc.text.length).sort((a, b) => a - b)
  const out: Piece[] = []
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]]
    out.push({ start, end, pos: tokenStarts.get(start) ?? null, entity: ents.findIndex((e) => e.start <= start && end <= e.end) })
  }
  return out
}

function pieceHtml(doc: TaggedDoc, p: Piece, showPos: boolean): string {
  const text = doc.text.slice(p.start, p.end)
  if (!showPos || /^\s+$/.test(text)) return textHtml(text)
  const pos = p.pos === null ? '' : escapeHtml(p.pos)
  return `<ruby class="token">${textHtml(text)}<rt class="pos">${pos}</rt></ruby>`
}

export function renderEntities(doc: TaggedDoc, options: RenderOptions = {}): string {
  const colors = { ...ENTITY_COLORS, ...options.colors }
  const visible = options.labels ? new Set(options.labels) : null
  const ents = doc.ents.filter((e) => !visible || visible.has(e.label)).sort((a, b) => a.start - b.start)
  const showPos = options.showPos ?? false
  const inline = options.inlineStyles ?? true
  const parts: string[] = []
  const list = pieces(doc, ents, showPos)
  for (let i = 0; i < list.length; ) {
    const entity = list[i].entity
    let j = i
    let inner = ''
    while (j < list.length && list[j].entity === entity) inner += pieceHtml(doc, list[j++], showPos)
    if (entity < 0) parts.push(inner)
    else {
      const label = ents[entity].label
      const color = escapeHtml(colors[label] ?? DEFAULT_COLOR)
      const markStyle = inline ? ` style="background: ${color}; padding: 0.45em 0.6em; margin: 0 0.25em; line-height: 1; border-radius: 0.35em;"` : ''
      const labelStyle = inline ? ` style="font-size: 0.8em; font-weight: bold; line-height: 1; border-radius: 0.35em; vertical-align: middle; margin-left: 0.5rem"` : ''
      parts.push(
        `<mark class="entity" data-label="${escapeHtml(label)}"${markStyle}>` +
          inner +
          `<span class="label"${labelStyle}>${escapeHtml(label)}</span></mark>`,
      )
    }
    i = j
  }
  const bodyStyle = inline ? ` style="line-height: ${showPos ? 3 : 2.5}; direction: ltr"` : ''
  const body = `<div class="entities"${bodyStyle}>${parts.join('')}</div>`
  return options.legend ? renderLegend([...new Set(ents.map((e) => e.label))], colors, inline) + body : body
}

export function renderLegend(labels: string[], colors: Record<string, string> = ENTITY_COLORS, inlineStyles = true): string {
  const style = (label: string) =>
    inlineStyles
      ? ` style="background: ${escapeHtml(colors[label] ?? DEFAULT_COLOR)}; padding: 0.2em 0.5em; margin-right: 0.4em; border-radius: 0.35em; font-size: 0.8em; font-weight: bold"`
      : ''
  const items = labels.map((label) => `<span class="legend-item" data-label="${escapeHtml(label)}"${style(label)}>${escapeHtml(label)}</span>`)
  return `<div class="legend">${items.join('')}</div>`
}

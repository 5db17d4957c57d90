// A small SVG writer for the round-trip timeline of new connections: one bar per client, one block per
// span (setup, then each round trip coloured by what it was spent on), the part spent waiting on the
// network and the server drawn solid, the client's own work pale. No dependency: SVG is text.
import { PHASE_LABELS, type Segment } from '../lab/round-trips.js'

/** One bar of the chart. */
export interface ChartRow {
  readonly label: string
  /** Spans on a common clock; the bar starts at the first span's start. */
  readonly segments: readonly Segment[]
  /** A note printed at the end of the bar (e.g. "6 round trips, 151 ms"). */
  readonly note?: string
}

const COLOURS: Readonly<Record<Segment['phase'], string>> = {
  setup: '#8c8c8c',
  'ssl-request': '#f28e2b',
  'tls-handshake': '#e15759',
  'startup-auth': '#4e79a7',
  query: '#59a14f',
}

const NAMES: Readonly<Record<Segment['phase'], string>> = { setup: 'setup (factory, TCP)', ...PHASE_LABELS }

/** Text made safe for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString()

/** A tick step of 1, 2 or 5 × 10^k giving about `target` ticks over `span`. */
function tickStep(span: number, target = 8): number {
  const raw = Math.max(span, 1e-9) / target
  const power = 10 ** Math.floor(Math.log10(raw))
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power
}

/** The chart as a standalone SVG document. Times are milliseconds; each bar is drawn from its own start. */
export function timelineSvg(rows: readonly ChartRow[], options: { title: string; subtitle?: string }): string {
  const left = 120
  const plotWidth = 640
  const rowHeight = 34
  const top = options.subtitle === undefined ? 44 : 60
  const durationOf = (r: ChartRow): number => {
    const first = r.segments[0]
    const last = r.segments[r.segments.length - 1]
    return first === undefined || last === undefined ? 0 : last.end - first.start
  }
  const longest = Math.max(1, ...rows.map(durationOf))
  const scale = plotWidth / longest
  const axisY = top + rows.length * rowHeight + 6
  const legendY = axisY + 36
  const width = left + plotWidth + 150
  const height = legendY + 24
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  ]
  if (options.subtitle !== undefined) out.push(`<text x="10" y="42" fill="#555555">${escapeXml(options.subtitle)}</text>`)

  rows.forEach((row, i) => {
    const y = top + i * rowHeight
    const origin = row.segments[0]?.start ?? 0
    out.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escapeXml(row.label)}</text>`)
    for (const s of row.segments) {
      const x = left + (s.start - origin) * scale
      const w = Math.max(0, (s.end - s.start) * scale)
      const solid = Math.min(w, s.waiting * scale)
      const colour = COLOURS[s.phase]
      const title = `${NAMES[s.phase]}: ${fmt(s.end - s.start)} ms (${fmt(s.waiting)} ms waiting on network and server)`
      out.push(`<g class="segment" data-phase="${s.phase}"><title>${escapeXml(title)}</title>`)
      out.push(`<rect x="${fmt(x)}" y="${y + 4}" width="${fmt(w)}" height="20" fill="${colour}" fill-opacity="0.35"/>`)
      if (solid > 0) out.push(`<rect x="${fmt(x)}" y="${y + 4}" width="${fmt(solid)}" height="20" fill="${colour}"/>`)
      out.push('</g>')
    }
    if (row.note !== undefined) out.push(`<text x="${fmt(left + durationOf(row) * scale + 6)}" y="${y + 18}" fill="#333333">${escapeXml(row.note)}</text>`)
  })

  const step = tickStep(longest)
  out.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotWidth}" y2="${axisY}" stroke="#333333"/>`)
  for (let t = 0; t <= longest + 1e-9; t += step) {
    const x = fmt(left + t * scale)
    out.push(`<line x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 4}" stroke="#333333"/>`)
    out.push(`<text x="${x}" y="${axisY + 16}" text-anchor="middle" fill="#333333">${fmt(t)}</text>`)
  }
  out.push(`<text x="${left + plotWidth + 8}" y="${axisY + 16}" fill="#333333">ms</text>`)

  let x = 10
  for (const phase of Object.keys(COLOURS) as Array<Segment['phase']>) {
    out.push(`<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${COLOURS[phase]}"/>`)
    out.push(`<text x="${x + 16}" y="${legendY}">${escapeXml(NAMES[phase])}</text>`)
    x += 30 + NAMES[phase].length * 6.5
  }
  out.push(`<text x="${x}" y="${legendY}" fill="#555555">pale: client work</text>`)
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

// Round trips of one connection, counted from a delay proxy's timeline (lab/delay-proxy.ts). A round
// trip is a flight of client chunks answered by a flight of server chunks: the client→server /
// server→client alternations of the conversation. A server flight of TLS alerts only (close_notify
// after the client's Terminate, encrypted as application data under TLS 1.3) answers nothing and is
// not counted. Pure: it reads a recorded timeline.
import type { ConnectionTimeline, TimelineChunk, TlsRecord } from './delay-proxy.js'
import { TLS_ALERT, TLS_APPLICATION_DATA, TLS13_ALERT_RECORD_LENGTH } from './tls-records.js'

/** What a round trip was spent on, read from the client's flight. */
export type Phase = 'ssl-request' | 'tls-handshake' | 'startup-auth' | 'query'

/** Human names of the phases, for tables and charts. */
export const PHASE_LABELS: Readonly<Record<Phase, string>> = {
  'ssl-request': 'SSLRequest',
  'tls-handshake': 'TLS handshake',
  'startup-auth': 'startup/auth',
  query: 'query',
}

/** One answered client flight. */
export interface Flight {
  readonly phase: Phase
  /** When the flight's first chunk reached the proxy (≈ when the client sent it, on loopback). */
  readonly sentAt: number
  /** When the last chunk of the server's answer reached the proxy (the client gets it `delayMs` later). */
  readonly answeredAt: number
}

export interface RoundTripCount {
  readonly roundTrips: number
  readonly flights: readonly Flight[]
}

/** Runs of consecutive chunks in one direction. */
function runsOf(chunks: readonly TimelineChunk[]): TimelineChunk[][] {
  const runs: TimelineChunk[][] = []
  for (const chunk of [...chunks].sort((a, b) => a.t - b.t)) {
    const last = runs[runs.length - 1]
    if (last !== undefined && last[0]?.dir === chunk.dir) last.push(chunk)
    else runs.push([chunk])
  }
  return runs
}

const isAlert = (r: TlsRecord): boolean =>
  r.type === TLS_ALERT || (r.type === TLS_APPLICATION_DATA && r.length === TLS13_ALERT_RECORD_LENGTH)

const onlyAlerts = (run: readonly TimelineChunk[]): boolean => {
  const records = run.flatMap((c) => c.records)
  return run.every((c) => c.kind !== 'plain' && c.kind !== 'ssl-answer') && records.length > 0 && records.every(isAlert)
}

function phaseOf(run: readonly TimelineChunk[]): Phase {
  if (run.some((c) => c.kind === 'ssl-request')) return 'ssl-request'
  if (run.some((c) => c.kind === 'plain' || c.records.some((r) => r.type === TLS_APPLICATION_DATA))) return 'startup-auth'
  return 'tls-handshake'
}

/**
 * Counts the round trips of one connection. With `lastIsQuery` (the default), the last answered
 * flight is labelled `query`: the timeline is of a connection that ran one query and ended.
 */
export function countRoundTrips(timeline: Pick<ConnectionTimeline, 'chunks'>, options: { lastIsQuery?: boolean } = {}): RoundTripCount {
  const runs = runsOf(timeline.chunks)
  const flights: Flight[] = []
  for (let i = 0; i < runs.length - 1; i++) {
    const sent = runs[i] ?? []
    const answer = runs[i + 1] ?? []
    if (sent[0]?.dir !== 'c2s' || onlyAlerts(answer)) continue
    flights.push({ phase: phaseOf(sent), sentAt: sent[0].t, answeredAt: answer[answer.length - 1]?.t ?? sent[0].t })
  }
  const last = flights[flights.length - 1]
  if ((options.lastIsQuery ?? true) && last !== undefined && last.phase === 'startup-auth') flights[flights.length - 1] = { ...last, phase: 'query' }
  return { roundTrips: flights.length, flights }
}

/** "SSLRequest, TLS handshake ×2, startup/auth ×3, query": the round trips in order, repeats folded. */
export function describeRoundTrips(count: RoundTripCount): string {
  const parts: Array<{ phase: Phase; n: number }> = []
  for (const f of count.flights) {
    const last = parts[parts.length - 1]
    if (last?.phase === f.phase) last.n++
    else parts.push({ phase: f.phase, n: 1 })
  }
  return parts.map((p) => `${PHASE_LABELS[p.phase]}${p.n > 1 ? ` ×${p.n}` : ''}`).join(', ')
}

/** A span of a connection's life, for charts: before the first byte (`setup`), or one round trip. */
export interface Segment {
  readonly phase: Phase | 'setup'
  readonly start: number
  readonly end: number
  /** Of the span, the part spent waiting on the network and the server (the rest is the client's own work). */
  readonly waiting: number
}

/**
 * Where each millisecond of a connection went, from `start` (the caller began: factory, TCP connect)
 * to `end` (the query's result was in hand): a setup span, then one span per round trip, from the
 * flight's sending to the next flight's (the last one to `end`).
 */
export function segmentsOf(timeline: Pick<ConnectionTimeline, 'chunks' | 'delayMs'>, start: number, end: number): Segment[] {
  const { flights } = countRoundTrips(timeline)
  const first = flights[0]
  const segments: Segment[] = [{ phase: 'setup', start, end: first?.sentAt ?? end, waiting: 0 }]
  flights.forEach((f, i) => {
    const until = flights[i + 1]?.sentAt ?? end
    const arrived = Math.min(until, f.answeredAt + timeline.delayMs)
    segments.push({ phase: f.phase, start: f.sentAt, end: until, waiting: Math.max(0, arrived - f.sentAt) })
  })
  return segments
}

// The bench's helpers on timelines recorded through the delay proxy (test/fixtures/round-trip-timelines.json,
// node-postgres connecting to the lab's PostgreSQL 18: SSLRequest first, direct TLS, and a P-256-only
// server that answers Node's X25519 key share with a HelloRetryRequest). Expected counts are read off
// the recordings by hand: the client→server / server→client alternations up to SELECT 1's result.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import type { ConnectionTimeline } from '../../lab/delay-proxy.js'
import { countRoundTrips, describeRoundTrips, segmentsOf } from '../../lab/round-trips.js'
import { escapeXml, timelineSvg } from '../../bench/svg-timeline.js'

type Recorded = Pick<ConnectionTimeline, 'delayMs' | 'directTls' | 'chunks'>
const timelines = JSON.parse(readFileSync(new URL('../fixtures/round-trip-timelines.json', import.meta.url), 'utf8')) as Record<'postgres' | 'direct' | 'p256OnlyHelloRetry', Recorded>

describe('countRoundTrips on recorded timelines', () => {
  it('SSLRequest negotiation: 6 round trips (SSLRequest, TLS 1.3 handshake, SCRAM in three, the query)', () => {
    const count = countRoundTrips(timelines.postgres)
    assert.equal(count.roundTrips, 6)
    assert.deepEqual(count.flights.map((f) => f.phase), ['ssl-request', 'tls-handshake', 'startup-auth', 'startup-auth', 'startup-auth', 'query'])
    assert.equal(describeRoundTrips(count), 'SSLRequest, TLS handshake, startup/auth ×3, query')
    // Each round trip starts when the client's flight reached the proxy: 0.94, 40.38, 72, 103.47, 142.78, 167.88 ms.
    assert.deepEqual(count.flights.map((f) => f.sentAt), [0.94, 40.38, 72, 103.47, 142.78, 167.88])
    assert.deepEqual(count.flights.map((f) => f.answeredAt), [11.78, 56.96, 91.49, 114.08, 156.96, 179.22])
  })

  it('direct TLS: one round trip fewer, no SSLRequest', () => {
    const count = countRoundTrips(timelines.direct)
    assert.equal(count.roundTrips, 5)
    assert.equal(describeRoundTrips(count), 'TLS handshake, startup/auth ×3, query')
  })

  it('a HelloRetryRequest costs a second handshake round trip; the server\'s closing alert is not an answer', () => {
    const count = countRoundTrips(timelines.p256OnlyHelloRetry)
    assert.equal(count.roundTrips, 7)
    assert.equal(describeRoundTrips(count), 'SSLRequest, TLS handshake ×2, startup/auth ×3, query')
  })

  it('without the query label, the last flight stays startup/auth', () => {
    const count = countRoundTrips(timelines.direct, { lastIsQuery: false })
    assert.equal(describeRoundTrips(count), 'TLS handshake, startup/auth ×4')
  })

  it('a silent server (a refused direct attempt) is zero round trips', () => {
    assert.equal(countRoundTrips({ chunks: [{ dir: 'c2s', t: 1, bytes: 300, kind: 'tls-handshake', records: [{ type: 22, length: 300 }] }] }).roundTrips, 0)
  })
})

describe('segmentsOf', () => {
  it('splits a connection into setup and one span per round trip, each with its waiting part', () => {
    const segments = segmentsOf(timelines.postgres, -5, 190)
    assert.deepEqual(segments.map((s) => s.phase), ['setup', 'ssl-request', 'tls-handshake', 'startup-auth', 'startup-auth', 'startup-auth', 'query'])
    assert.deepEqual(segments[0], { phase: 'setup', start: -5, end: 0.94, waiting: 0 })
    // SSLRequest sent at 0.94, 'S' at the proxy at 11.78 and at the client 10 ms later; ClientHello sent at 40.38.
    const ssl = segments[1]
    assert.equal(ssl?.end, 40.38)
    assert.ok(Math.abs((ssl?.waiting ?? 0) - 20.84) < 1e-9)
    assert.equal(segments[6]?.end, 190)
  })
})

describe('timelineSvg', () => {
  const rows = [
    { label: 'raw pg', segments: segmentsOf(timelines.postgres, 0, 190), note: '6 round trips' },
    { label: 'direct <TLS>', segments: segmentsOf(timelines.direct, 0, 150) },
  ]
  const svg = timelineSvg(rows, { title: 'A & B', subtitle: 'sub' })

  it('is one SVG document with a group per span, coloured by phase', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" [^>]*>/)
    assert.ok(svg.trimEnd().endsWith('</svg>'))
    assert.equal(svg.match(/<g class="segment"/g)?.length, 7 + 6)
    assert.equal(svg.match(/data-phase="ssl-request"/g)?.length, 1)
    assert.equal(svg.match(/data-phase="query"/g)?.length, 2)
  })

  it('scales the longest bar to the plot width (640 px from x = 120)', () => {
    // The raw pg bar lasts 190 ms: its query span runs from 167.88 ms to 190 ms.
    const query = /data-phase="query"><title>[^<]*<\/title>\n<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(svg)
    assert.ok(query !== null)
    assert.ok(Math.abs(Number(query[1]) - (120 + 167.88 * 640 / 190)) < 0.1)
    assert.ok(Math.abs(Number(query[1]) + Number(query[2]) - 760) < 0.2)
  })

  it('escapes text', () => {
    assert.ok(svg.includes('A &amp; B'))
    assert.ok(svg.includes('direct &lt;TLS&gt;'))
    assert.ok(!svg.includes('<TLS>'))
    assert.equal(escapeXml('"<&>"'), '&quot;&lt;&amp;&gt;&quot;')
  })
})

// OpenTelemetry's instrumentation-pg starts a span for every client.query() and ends it through the query's
// callback or promise. A submittable without a callback (pg-cursor, pg-query-stream) has neither, so its span
// stays open forever, with plain pg too: the instrumentation wraps a submittable's `callback` property only
// when one is there. Where pg's query() is wrapped by such a tracer, a submittable without a callback gets one
// (a no-op the tracer wraps) that is called once when the query is over: at its ReadyForQuery, or its error.

/** The fields of a submittable this module reads and sets. */
interface Submittable {
  submit: unknown
  text?: unknown
  callback?: unknown
  _result?: unknown
  handleReadyForQuery?: (...args: unknown[]) => unknown
  handleError?: (...args: unknown[]) => unknown
}

/**
 * Whether `query` is wrapped by shimmer, as OpenTelemetry's instrumentations wrap what they patch (they mark
 * the wrapper `__wrapped`). Read on every submittable query, so turning tracing on later is seen too.
 */
function isTraced(query: unknown): boolean {
  return typeof query === 'function' && (query as { __wrapped?: unknown }).__wrapped === true
}

/**
 * Gives a submittable without a callback the callback slot a tracer ends its span through, and calls it once
 * when the query is over. Does nothing for other queries, for submittables with a callback of their own, and
 * when pg's query() is not traced. `pgQuery` is pg's own `Client.prototype.query` as it is now.
 */
export function endTracedSubmittable(config: object, pgQuery: unknown): void {
  const s = config as Submittable
  if (typeof s.submit !== 'function' || s.callback !== undefined || !isTraced(pgQuery)) return
  const ready = s.handleReadyForQuery
  const failed = s.handleError
  if (typeof ready !== 'function' || typeof failed !== 'function') return
  // pg-query-stream keeps its SQL on its cursor; the tracer looks for it on the query (and names the span by it).
  const inner = (s as { cursor?: { text?: unknown } }).cursor?.text
  if (typeof s.text !== 'string' && typeof inner === 'string') s.text = inner
  let called = false
  // Enumerable, as pg's own Query has it: the tracer copies the query's fields to find it.
  s.callback = (): void => { called = true }
  // The tracer has replaced the no-op by then: call what is in the slot now, once (pg-query-stream calls it itself).
  const finish = (err: unknown): void => {
    if (called) return
    called = true
    const callback = s.callback
    if (typeof callback === 'function') callback.call(s, err, err === null ? s._result : undefined)
  }
  s.handleReadyForQuery = function handleReadyForQuery(this: unknown, ...args: unknown[]): unknown {
    const result = ready.apply(this, args)
    finish(null)
    return result
  }
  s.handleError = function handleError(this: unknown, ...args: unknown[]): unknown {
    const result = failed.apply(this, args)
    finish(args[0] ?? new Error('The query failed.'))
    return result
  }
}

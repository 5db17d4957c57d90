// Small statistics for the bench: samples are milliseconds (or ratios), reported as median and spread.

/** The q-quantile (0..1) of the samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5)

export const mean = (samples: readonly number[]): number => samples.reduce((a, b) => a + b, 0) / samples.length

/** The geometric mean: the mean of ratios taken the right way (a ratio and its inverse average to 1). */
export const geomean = (samples: readonly number[]): number => Math.exp(samples.reduce((a, x) => a + Math.log(x), 0) / samples.length)

/** Rounded to 3 decimals, as the reports print ratios. */
export const r3 = (x: number): number => Number(x.toFixed(3))

/** Median, 10th and 90th percentile, mean and count, rounded for a report. */
export interface Summary {
  readonly median: number
  readonly p10: number
  readonly p90: number
  readonly mean: number
  readonly n: number
}

export function summarise(samples: readonly number[], digits = 3): Summary {
  const r = (x: number): number => Number(x.toFixed(digits))
  return { median: r(median(samples)), p10: r(quantile(samples, 0.1)), p90: r(quantile(samples, 0.9)), mean: r(mean(samples)), n: samples.length }
}

/** Milliseconds since an earlier `performance.now()`. */
export const since = (start: number): number => performance.now() - start

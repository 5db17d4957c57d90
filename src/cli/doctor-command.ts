import type { DoctorReport, StepName, StepResult } from '../doctor/run-doctor.js'

const TITLES: Readonly<Record<StepName, string>> = {
  configuration: 'configuration',
  dns: 'dns',
  tcp: 'tcp',
  'tls-request': 'tls request',
  'tls-handshake': 'tls handshake',
  'plaintext-probe': 'plaintext probe',
  authentication: 'authentication',
  server: 'server',
  hosts: 'hosts',
}

/** The checklist's first line. */
export const REPORT_TITLE = 'azure-pg-tls doctor'

const paint = (color: boolean, code: string, s: string): string => (color ? `\u001b[${code}m${s}\u001b[0m` : s)

/** One step as checklist lines, printed as soon as the step finishes; colour only when asked (a TTY without NO_COLOR). */
export function formatStep(s: StepResult, color: boolean): string {
  const marks = { pass: paint(color, '32', '✓'), warn: paint(color, '33', '!'), fail: paint(color, '31', '✗'), skip: paint(color, '33', '-') }
  const lines = [`${marks[s.status]} ${TITLES[s.step].padEnd(15)} ${s.summary}`]
  for (const d of s.details) lines.push(`    ${d}`)
  if (s.reason !== undefined) lines.push(`    reason: ${s.reason}`)
  if (s.fix !== undefined) lines.push(`    ${paint(color, '1', 'fix:')} ${s.fix}`)
  return lines.join('\n')
}

/** The checklist's last line. */
export function formatVerdict(report: DoctorReport): string {
  return report.ok ? 'All checks passed.' : `Stopped at the first failure (${report.steps.find((s) => s.status === 'fail')?.step ?? '?'}).`
}

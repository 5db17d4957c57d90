import type { DoctorReport, StepName } from '../doctor/run-doctor.js'

const TITLES: Readonly<Record<StepName, string>> = {
  configuration: 'configuration',
  dns: 'dns',
  tcp: 'tcp',
  'tls-request': 'tls request',
  'tls-handshake': 'tls handshake',
  'plaintext-probe': 'plaintext probe',
  authentication: 'authentication',
  server: 'server',
}

/** The doctor's report as a terminal checklist; colour only when asked (a TTY without NO_COLOR). */
export function formatReport(report: DoctorReport, color: boolean): string {
  const paint = (code: string, s: string): string => (color ? `\u001b[${code}m${s}\u001b[0m` : s)
  const marks = { pass: paint('32', '✓'), warn: paint('33', '!'), fail: paint('31', '✗'), skip: paint('33', '-') }
  const lines = ['azure-pg-tls doctor']
  for (const s of report.steps) {
    lines.push(`${marks[s.status]} ${TITLES[s.step].padEnd(15)} ${s.summary}`)
    for (const d of s.details) lines.push(`    ${d}`)
    if (s.reason !== undefined) lines.push(`    reason: ${s.reason}`)
    if (s.fix !== undefined) lines.push(`    ${paint('1', 'fix:')} ${s.fix}`)
  }
  lines.push(report.ok ? 'All checks passed.' : `Stopped at the first failure (${report.steps.find((s) => s.status === 'fail')?.step ?? '?'}).`)
  return lines.join('\n')
}

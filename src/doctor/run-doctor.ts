import type { DoctorInput, DoctorReport, StepResult } from './report.js'
import { DOCTOR_STEPS, type DoctorState } from './steps.js'

export type { DoctorInput, DoctorReport, StepName, StepResult } from './report.js'

/**
 * Runs the checks in order (configuration, DNS, TCP, TLS request, TLS handshake, plaintext probe,
 * authentication, server) and stops at the first failure. Never includes a password or token in its report.
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const steps: StepResult[] = []
  const state: DoctorState = { input }
  try {
    for (const step of DOCTOR_STEPS) {
      const result = await step.run(state)
      if (result === undefined) continue
      steps.push(result)
      input.onStep?.(result)
      if (result.status === 'fail') break
    }
  } finally {
    state.socket?.destroy()
    await state.client?.end()
  }
  return { ok: steps.every((s) => s.status !== 'fail'), steps, ...(state.plaintext !== undefined && { plaintext: state.plaintext }) }
}

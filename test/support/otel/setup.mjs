// The ES module form of setup.cjs (node --import): import-in-the-middle's loader hook for ES modules, as
// OpenTelemetry's Node SDK and the Azure Monitor distro register it, then the same providers and instrumentation.
import { createRequire, register } from 'node:module'

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
createRequire(import.meta.url)('./setup.cjs')

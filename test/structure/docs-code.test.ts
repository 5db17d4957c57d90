// Every TypeScript and JavaScript code block of README.md and docs/ type-checks against the package's own
// source, so an example cannot drift from the API it shows. (In test/structure, not test/unit: one compile
// of src/ takes seconds, and the mutation runner runs every test/unit file once per mutant.)
//
// The rule: a fenced block whose language is ts, typescript, js or javascript is a complete program and
// is type-checked, unless its info string carries the word `fragment` (```ts fragment): then it is an
// excerpt (lines that do not stand alone) and is left out. Each checked block is its own ES module (the
// package is "type": "module", so top-level await works), compiled with the repository's TypeScript and
// tsconfig.json (strict), in memory: nothing is written. `azure-pg-tls` maps to src/index.ts and
// `azure-pg-tls/pg` to src/connect/pg.ts, other imports resolve from node_modules. Unused locals and
// parameters are allowed (an example may show a value it does not use). `@azure/identity` is an
// optional peer dependency that the repository keeps uninstalled (the ENTRA_UNAVAILABLE tests need it
// absent); while it is, a declaration of the parts the pages use, copied from @azure/identity 4.13.1
// and @azure/core-auth 1.10.1, stands in for it. So does one for `@azure/monitor-opentelemetry` (which
// depends on @azure/identity), and `azure-pg-tls/otel` maps to src/otel/index.ts.
import assert from 'node:assert/strict'
import { join, relative } from 'node:path'
import { before, describe, it } from 'node:test'
import ts from 'typescript'
import { documentationPages, fencedBlocks, REPO_ROOT, type FencedBlock, type Page } from '../support/markdown.js'

const LANGS: Readonly<Record<string, '.ts' | '.js'>> = { ts: '.ts', typescript: '.ts', js: '.js', javascript: '.js' }

interface Program {
  readonly page: Page
  readonly block: FencedBlock
  /** The virtual file the block is compiled as, under the repository root (it is never written). */
  readonly file: string
}

/** The blocks the rule above calls complete programs, and how many code blocks were left out as fragments. */
function programsOf(pages: readonly Page[]): { programs: Program[]; fragments: number } {
  const programs: Program[] = []
  let fragments = 0
  for (const page of pages) {
    for (const block of fencedBlocks(page.text)) {
      const ext = LANGS[block.lang]
      if (ext === undefined) continue
      if (block.info.split(/\s+/).includes('fragment')) {
        fragments++
        continue
      }
      const stem = page.name.replace(/\.md$/, '').replace(/[^a-z0-9]+/gi, '-')
      programs.push({ page, block, file: join(REPO_ROOT, '.docs-code', `${stem}-line-${block.line}${ext}`) })
    }
  }
  return { programs, fragments }
}

const AZURE_IDENTITY_STAND_IN = `
declare module '@azure/identity' {
  export interface AccessToken { token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number; tokenType?: 'Bearer' | 'pop' }
  export interface GetTokenOptions {
    abortSignal?: AbortSignal; requestOptions?: { timeout?: number }; tracingOptions?: { tracingContext?: unknown }
    claims?: string; enableCae?: boolean; tenantId?: string
    proofOfPossessionOptions?: { nonce: string; resourceRequestMethod: string; resourceRequestUrl: string }
  }
  export interface TokenCredential { getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> }
  export interface TokenCredentialOptions { authorityHost?: string; loggingOptions?: { allowLoggingAccountIdentifiers?: boolean } }
  export class DefaultAzureCredential implements TokenCredential {
    constructor(options?: TokenCredentialOptions & { managedIdentityClientId?: string; tenantId?: string })
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken>
  }
  export class ManagedIdentityCredential implements TokenCredential {
    constructor(clientId: string, options?: TokenCredentialOptions)
    constructor(options?: TokenCredentialOptions & { clientId?: string })
    constructor(options?: TokenCredentialOptions & { resourceId: string })
    constructor(options?: TokenCredentialOptions & { objectId: string })
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken>
  }
}
`

/** `useAzureMonitor` as @azure/monitor-opentelemetry 1.x declares it, options narrowed to what the pages need. */
const AZURE_MONITOR_STAND_IN = `
declare module '@azure/monitor-opentelemetry' {
  export interface AzureMonitorOpenTelemetryOptions { azureMonitorExporterOptions?: { connectionString?: string } }
  export function useAzureMonitor(options?: AzureMonitorOpenTelemetryOptions): void
  export function shutdownAzureMonitor(): Promise<void>
}
`

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(REPO_ROOT, 'tsconfig.json')
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p))
  if (read.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'))
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, REPO_ROOT, undefined, configPath)
  return {
    ...parsed.options,
    paths: { 'azure-pg-tls': [join(REPO_ROOT, 'src/index.ts')], 'azure-pg-tls/pg': [join(REPO_ROOT, 'src/connect/pg.ts')], 'azure-pg-tls/otel': [join(REPO_ROOT, 'src/otel/index.ts')] },
    strict: true,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    allowJs: true,
    checkJs: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
  }
}

/** Type-checks the programs; answers one line per error, `page:line: message`, in the page's own lines. */
function typeCheck(programs: readonly Program[]): string[] {
  const options = compilerOptions()
  const files = new Map<string, string>(programs.map((p) => [p.file, `${p.block.code}\nexport {}\n`]))
  const standIn = join(REPO_ROOT, '.docs-code', 'azure-identity-stand-in.d.ts')
  const installed = ts.resolveModuleName('@azure/identity', files.keys().next().value ?? join(REPO_ROOT, 'x.ts'), options, ts.sys).resolvedModule
  if (installed === undefined) files.set(standIn, AZURE_IDENTITY_STAND_IN)
  // The Azure Monitor distro pulls in @azure/identity, which must stay uninstalled: its one call the pages show.
  const monitor = ts.resolveModuleName('@azure/monitor-opentelemetry', files.keys().next().value ?? join(REPO_ROOT, 'x.ts'), options, ts.sys).resolvedModule
  if (monitor === undefined) files.set(join(REPO_ROOT, '.docs-code', 'azure-monitor-stand-in.d.ts'), AZURE_MONITOR_STAND_IN)
  const host = ts.createCompilerHost(options, true)
  const { fileExists, readFile, getSourceFile } = host
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f)
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f)
  host.getSourceFile = (f, languageVersion, onError, shouldCreate) => {
    const text = files.get(f)
    return text === undefined ? getSourceFile.call(host, f, languageVersion, onError, shouldCreate) : ts.createSourceFile(f, text, languageVersion, true)
  }
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host })
  const byFile = new Map(programs.map((p) => [p.file, p]))
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    if (d.file === undefined || d.start === undefined) return `(no file): TS${d.code} ${text}`
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const from = byFile.get(d.file.fileName)
    const where = from === undefined ? `${relative(REPO_ROOT, d.file.fileName)}:${line + 1}` : `${from.page.name}:${from.block.line + line}`
    return `${where}: TS${d.code} ${text}`
  })
}

describe('code blocks in README.md and docs/', () => {
  const { programs, fragments } = programsOf(documentationPages())
  // Compiled with the pages' programs, in the same (only) run of the compiler: a block with a type error.
  const planted: Program = {
    page: { path: join(REPO_ROOT, 'planted.md'), name: 'planted.md', text: '' },
    block: { info: 'ts', lang: 'ts', code: "import { createAzurePgClient } from 'azure-pg-tls'\n\nawait createAzurePgClient({ port: true })", line: 40, open: 38, close: 42 },
    file: join(REPO_ROOT, '.docs-code', 'planted.ts'),
  }
  let errors: string[] = []
  before(() => { errors = typeCheck([...programs, planted]) })

  it('are found: the README quick start among them, and few fragments', () => {
    assert.ok(programs.some((p) => p.page.name === 'README.md' && p.block.code.includes("from 'azure-pg-tls'")), 'a README block importing azure-pg-tls')
    assert.ok(programs.some((p) => p.block.code.includes("from 'azure-pg-tls/pg'")), 'a block importing azure-pg-tls/pg')
    assert.ok(programs.length >= 10, `${programs.length} programs`)
    assert.ok(fragments <= 2, `${fragments} fragments: prefer complete programs`)
  })

  it('type-check against src/ when they are complete programs', () => {
    assert.deepEqual(errors.filter((e) => !e.startsWith('planted.md:')), [])
  })

  it('would report a type error, with the page and line it is on', () => {
    const mine = errors.filter((e) => e.startsWith('planted.md:'))
    assert.equal(mine.length, 1, mine.join('\n'))
    assert.match(mine[0] ?? '', /^planted\.md:42: TS2322 /)
  })
})

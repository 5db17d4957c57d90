// The shape of src/: one flow, one direction. These checks read the source text, so a cycle or an
// upward import fails here before it confuses a reader. Around src/, the bench and the examples stand
// on lab/ (and src/), never on test/: what they share with the tests lives in lab/.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SRC = join(ROOT, 'src/')
const TEST = join(ROOT, 'test/')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

/** Every relative module a file names: static imports and re-exports, type-only ones included, and dynamic imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? '')
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')))
}

const files = sourceFiles(SRC)
const rel = (f: string): string => relative(SRC, f)
const graph = new Map(files.map((f) => [rel(f), importsOf(f).map(rel)]))

/** Every import of `files` that resolves into the folder `dir`, as "from → to" relative to the repository. */
function importsInto(files: readonly string[], dir: string): string[] {
  return files.flatMap((f) => importsOf(f).filter((d) => d.startsWith(dir)).map((d) => `${relative(ROOT, f)} → ${relative(ROOT, d)}`))
}

/** Layers, lowest first: a module imports only from its own layer or lower ones. */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['options.ts', 'errors.ts', 'util/', 'telemetry/'],
  ['log.ts', 'explain.ts'],
  ['config/'],
  ['trust/', 'auth/'],
  ['connect/'],
  ['doctor/'],
  ['cli/', 'index.ts', 'explain-pg-error.ts', 'otel/'],
]
const layerOf = (file: string): number => LAYERS.findIndex((l) => l.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)))

/** Every import cycle of a graph (module → the modules it imports), each as "a → b → a". */
function cyclesIn(g: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>()
  const cycles: string[] = []
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
      return
    }
    state.set(file, 'open')
    for (const d of g.get(file) ?? []) visit(d, [...path, file])
    state.set(file, 'done')
  }
  for (const file of g.keys()) visit(file, [])
  return cycles
}

/** Every import of a graph from a module to one in a higher layer, as "from → to". */
function upwardImports(g: ReadonlyMap<string, readonly string[]>, layer: (file: string) => number): string[] {
  return [...g].flatMap(([file, deps]) => deps.filter((d) => layer(d) > layer(file)).map((d) => `${file} → ${d}`))
}

describe('src/ structure', () => {
  it('every module belongs to a layer, and every import resolves to a module in src/', () => {
    for (const [file, deps] of graph) {
      assert.notEqual(layerOf(file), -1, `${file} is in no layer`)
      for (const d of deps) assert.ok(graph.has(d), `${file} imports ${d}, which is not a module in src/`)
    }
  })

  it('has no import cycle, type-only imports included', () => {
    assert.deepEqual(cyclesIn(graph), [])
  })

  it('imports only downward: options, errors and config/ import nothing from the layers above them', () => {
    assert.deepEqual(upwardImports(graph, layerOf), [])
    assert.deepEqual(graph.get('options.ts'), [], 'options.ts imports nothing internal')
    assert.deepEqual(graph.get('errors.ts'), [], 'errors.ts imports nothing internal')
  })

  it('telemetry/ is a leaf, and nothing in src/ imports the OpenTelemetry adapter (otel/) or @opentelemetry/*', () => {
    for (const [file, deps] of graph) {
      if (file.startsWith('telemetry/')) assert.deepEqual(deps.filter((d) => !d.startsWith('telemetry/')), [], `${file} imports from the SDK`)
      if (!file.startsWith('otel/')) assert.deepEqual(deps.filter((d) => d.startsWith('otel/')), [], `${file} imports the adapter`)
      if (!file.startsWith('otel/')) assert.doesNotMatch(readFileSync(join(SRC, file), 'utf8'), /from '@opentelemetry\//, `${file} imports OpenTelemetry`)
    }
  })

  it('reads process.env and the raw options object only in src/config/', () => {
    const readers = files.filter((f) => !rel(f).startsWith('config/')).flatMap((f) => {
      const code = readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*\*)/.test(l)).join('\n')
      return [/process\.env/, /(?<![/\w.])options\s*(\.|\[|\?\.)/].filter((re) => re.test(code)).map((re) => `${rel(f)} matches ${String(re)}`)
    })
    assert.deepEqual(readers, [])
  })
})

describe('bench/, examples/ and lab/ stand on lab/ and src/, not on test/', () => {
  // lab/ is included because bench/ and examples/ import it: an import of test/ there would reach test/ all the same.
  for (const folder of ['bench', 'examples', 'lab']) {
    it(`${folder}/ imports nothing from test/`, () => {
      const files = sourceFiles(join(ROOT, folder))
      assert.ok(files.length > 0, `${folder}/ has TypeScript files`)
      assert.deepEqual(importsInto(files, TEST), [], 'move what is shared into lab/')
    })
  }
})

// A sanity check of the checker itself: it must see a cycle and an upward import when they exist.
describe('the structure checker', () => {
  it('sees the imports of a known module', () => {
    assert.ok(graph.get('connect/client.ts')?.includes('connect/prepare.ts'))
    assert.ok(graph.get('config/resolve.ts')?.includes('options.ts'), 'type-only imports are counted')
  })

  it('sees an import into test/ where there is one', () => {
    const entra = join(TEST, 'unit/entra.test.ts')
    assert.ok(importsInto([entra], TEST).includes('test/unit/entra.test.ts → test/support/assert-error.ts'))
    assert.deepEqual(importsInto([entra], join(ROOT, 'bench/')), [])
  })

  it('finds a cycle where there is one, and none in a graph without', () => {
    assert.deepEqual(cyclesIn(new Map([['a', ['b']], ['b', ['a']]])), ['a → b → a'])
    assert.deepEqual(cyclesIn(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), [])
  })

  it('finds an import from a lower layer to a higher one, and only that', () => {
    const layer = (f: string): number => ['low', 'high'].indexOf(f)
    assert.deepEqual(upwardImports(new Map([['low', ['high']], ['high', []]]), layer), ['low → high'])
    assert.deepEqual(upwardImports(new Map([['high', ['low']], ['low', []]]), layer), [])
  })
})

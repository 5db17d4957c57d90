// The synchronous safe file operations (src/trust/safe-file.ts), which a process's 'exit' handler uses
// (the learned-facts file): folders made like `mkdir -p` with the mode asked for, refused through a
// file, and an atomic write that leaves no temporary file and clears this process's own leftovers.
// Real files in temporary folders; expected values written out here.
import assert from 'node:assert/strict'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { makeDirsSync, writeFileAtomicSync } from '../../src/trust/safe-file.js'
import { tempDirs } from '../support/temp-dir.js'

const newDir = tempDirs('safe-file-sync')

describe('makeDirsSync', () => {
  it('makes missing parents with the mode asked for, and accepts a folder that exists', async () => {
    const root = await newDir()
    const deep = join(root, 'a', 'b', 'c')
    makeDirsSync(deep, 0o700)
    for (const d of [join(root, 'a'), join(root, 'a', 'b'), deep]) {
      assert.ok(statSync(d).isDirectory(), d)
      assert.equal(statSync(d).mode & 0o777, 0o700 & ~process.umask())
    }
    makeDirsSync(deep, 0o700)
    assert.ok(statSync(deep).isDirectory())
  })

  it('refuses a file where a folder should be, itself or as a parent', async () => {
    const root = await newDir()
    writeFileSync(join(root, 'f'), 'x')
    assert.throws(() => makeDirsSync(join(root, 'f'), 0o755), { code: 'ENOTDIR', message: `${join(root, 'f')} is not a directory` })
    assert.throws(() => makeDirsSync(join(root, 'f', 'below'), 0o755), { code: 'ENOTDIR' })
  })

  it('gives up at the first error that is not a missing parent, with that error', async () => {
    const root = await newDir()
    writeFileSync(join(root, 'f'), 'x')
    assert.throws(() => makeDirsSync(join(root, 'f', 'x', 'y'), 0o755), { code: 'ENOTDIR' })
  })
})

describe('writeFileAtomicSync', () => {
  it('writes the file whole into a folder it makes, mode 0644, and leaves no temporary file', async () => {
    const dir = join(await newDir(), 'made')
    writeFileAtomicSync(dir, 'facts.json', '{"a":1}')
    assert.equal(readFileSync(join(dir, 'facts.json'), 'utf8'), '{"a":1}')
    assert.equal(statSync(join(dir, 'facts.json')).mode & 0o777, 0o644 & ~process.umask())
    assert.deepEqual(readdirSync(dir), ['facts.json'])
    writeFileAtomicSync(dir, 'facts.json', 'second', { durable: false })
    assert.equal(readFileSync(join(dir, 'facts.json'), 'utf8'), 'second')
    assert.deepEqual(readdirSync(dir), ['facts.json'])
  })

  it("removes this process's own temporary files of that name, and no one else's", async () => {
    const dir = await newDir()
    const mine = `.facts.json.${process.pid}.0123456789ab.tmp`
    const others = [`.facts.json.${process.pid + 1}.0123456789ab.tmp`, `.other.json.${process.pid}.0123456789ab.tmp`, `.facts.json.${process.pid}.0123456789ab.keep`]
    for (const f of [mine, ...others]) writeFileSync(join(dir, f), 'left')
    writeFileAtomicSync(dir, 'facts.json', 'x')
    assert.deepEqual(readdirSync(dir).sort(), [...others, 'facts.json'].sort())
  })

  it('removes its temporary file when the rename fails, and throws', async () => {
    const dir = await newDir()
    mkdirSync(join(dir, 'facts.json'))
    writeFileSync(join(dir, 'facts.json', 'inside'), 'x')
    assert.throws(() => writeFileAtomicSync(dir, 'facts.json', 'x'), (err: NodeJS.ErrnoException) => err.code === 'EISDIR' || err.code === 'ENOTEMPTY' || err.code === 'EEXIST')
    assert.deepEqual(readdirSync(dir), ['facts.json'])
  })
})

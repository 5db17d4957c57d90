// Every link in README.md and docs/ leads somewhere: a relative link names a file or folder that exists,
// an #anchor names a heading (GitHub's slug) or an HTML id of the page it points at, and every target is
// in the npm package too (package.json `files`), so the links work on GitHub and in node_modules alike.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, it } from 'node:test'
import { anchorsOf, documentationPages, githubSlug, lineAt, proseOnly, REPO_ROOT, type Page } from '../support/markdown.js'

interface Link {
  readonly page: Page
  readonly line: number
  readonly target: string
}

/** Inline links and images `[text](target "title")`, reference definitions `[label]: target`, HTML href/src. */
function linksOf(page: Page): Link[] {
  const prose = proseOnly(page.text)
  const links: Link[] = []
  const patterns = [
    /\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?\s*\)/g,
    /^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)/gm,
    /<(?:a|img)\s[^>]*\b(?:href|src)\s*=\s*"([^"]*)"/gi,
  ]
  for (const pattern of patterns) {
    for (const m of prose.matchAll(pattern)) {
      const raw = m[1] ?? ''
      links.push({ page, line: lineAt(prose, m.index), target: raw.startsWith('<') ? raw.slice(1, -1) : raw })
    }
  }
  return links
}

/** What is wrong with one link, or undefined. External links (a scheme, or `//`) are not followed. */
function problemWith(link: Link, root: string = REPO_ROOT, shipped: readonly string[] = shippedPaths(root)): string | undefined {
  const { target, page } = link
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined
  if (target.startsWith('/')) return 'is absolute: write it relative to the page, so it works on GitHub and in the npm package'
  const hash = target.indexOf('#')
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash))
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
  const file = pathPart === '' ? page.path : resolve(dirname(page.path), pathPart)
  const fromRoot = relative(root, file).split(sep).join('/')
  if (fromRoot.startsWith('../')) return 'leads outside the repository'
  if (!existsSync(file)) return `names ${fromRoot}, which does not exist`
  if (!shipped.some((entry) => fromRoot === entry || fromRoot.startsWith(`${entry}/`)) && !NOT_SHIPPED.has(fromRoot)) {
    return `names ${fromRoot}, which the npm package does not ship (package.json "files")`
  }
  if (anchor === undefined) return undefined
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `has an anchor, but ${fromRoot} is not a Markdown page`
  if (anchor === '') return undefined // "#" alone: the top of the page
  const anchors = anchorsOf(readFileSync(file, 'utf8'))
  if (!anchors.has(anchor)) return `names #${anchor}, which ${fromRoot} does not have (its anchors: ${[...anchors].join(', ')})`
  return undefined
}

/**
 * Link targets that are in the repository but not in the npm package, on purpose: the benchmark's charts
 * (docs/performance.md, docs/high-availability.md) are written by `npm run bench` into bench/, which is not
 * shipped; in node_modules those images are missing, on GitHub they show.
 */
const NOT_SHIPPED = new Set(['bench/timeline.svg', 'bench/failover.svg'])

function shippedPaths(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }
  return [...pkg.files.map((f) => f.replace(/\/+$/, '')), 'package.json']
}

describe('links in README.md and docs/', () => {
  const pages = documentationPages()
  const links = pages.flatMap(linksOf)

  it('finds the pages and their links (so the checks below cannot pass on nothing)', () => {
    assert.ok(pages.some((p) => p.name === 'README.md') && pages.some((p) => p.name === 'docs/options.md'), pages.map((p) => p.name).join(', '))
    assert.ok(links.filter((l) => l.target.includes('#')).length >= 3, 'some links with anchors')
    for (const page of pages.filter((p) => p.name !== 'README.md')) {
      assert.ok(linksOf(page).some((l) => l.target === '../README.md'), `${page.name} links back to the README`)
    }
  })

  it('lead to files that exist and anchors that exist, all shipped in the package', () => {
    const problems = links.flatMap((link) => {
      const problem = problemWith(link)
      return problem === undefined ? [] : [`${link.page.name}:${link.line}: (${link.target}) ${problem}`]
    })
    assert.deepEqual(problems, [])
  })

  it('knows broken links when it sees them', () => {
    const readme = pages.find((p) => p.name === 'README.md')
    assert.ok(readme !== undefined)
    const at = (target: string): Link => ({ page: readme, line: 1, target })
    assert.equal(problemWith(at('docs/options.md#environment')), undefined)
    assert.equal(problemWith(at('#quick-start')), undefined)
    assert.equal(problemWith(at('https://example.invalid/nowhere')), undefined)
    assert.match(problemWith(at('docs/nowhere.md')) ?? '', /does not exist/)
    assert.match(problemWith(at('docs/options.md#nowhere')) ?? '', /does not have/)
    assert.match(problemWith(at('#nowhere')) ?? '', /does not have/)
    assert.match(problemWith(at('/docs/options.md')) ?? '', /absolute/)
    assert.match(problemWith(at('src/index.ts')) ?? '', /does not ship/)
    assert.match(problemWith(at('package.json#x')) ?? '', /not a Markdown page/)
  })

  it('makes anchors as GitHub does', () => {
    assert.equal(githubSlug('`azure-pg-tls/pg`: a drop-in `pg` module'), 'azure-pg-tlspg-a-drop-in-pg-module')
    assert.equal(githubSlug('The 2025–2026 intermediate rotation'), 'the-20252026-intermediate-rotation')
    assert.equal(githubSlug('Security model, in brief'), 'security-model-in-brief')
    assert.equal(githubSlug('Passwordless (Entra ID)'), 'passwordless-entra-id')
    assert.equal(githubSlug('AZURE_PG_TLS_* [variables](x.md)'), 'azure_pg_tls_-variables')
    assert.deepEqual([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n### A')], ['a', 'a-1', 'a-2'])
  })
})

// Just enough Markdown for the documentation tests (docs-links, docs-code): the pages, their fenced code
// blocks, their prose with code taken out, and the anchors GitHub gives their headings.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Page {
  /** Absolute path. */
  readonly path: string
  /** Path from the repository root, with `/`, for messages: `docs/options.md`. */
  readonly name: string
  readonly text: string
}

/** README.md and every Markdown file under docs/ (recursively), in a stable order. */
export function documentationPages(root: string = REPO_ROOT): Page[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(root, 'docs', f))
    .sort()
  return [join(root, 'README.md'), ...docs].map((path) => ({
    path, name: relative(root, path).split('\\').join('/'), text: readFileSync(path, 'utf8'),
  }))
}

export interface FencedBlock {
  /** The info string after the opening fence, trimmed: `ts`, `ts fragment`, `sh`, ``. */
  readonly info: string
  /** The first word of the info string, lower-cased. */
  readonly lang: string
  readonly code: string
  /** 1-based line of the first line of code (the line after the opening fence). */
  readonly line: number
  /** 0-based indexes of the opening and the closing fence (the last line when the block is never closed). */
  readonly open: number
  readonly close: number
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/

/** The fenced code blocks of a page (``` or ~~~, CommonMark's rules for closing them). */
export function fencedBlocks(text: string): FencedBlock[] {
  const lines = text.split('\n')
  const blocks: FencedBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '')
    if (open === null) continue
    const fence = open[1] ?? '```'
    const info = (open[2] ?? '').trim()
    if (fence.startsWith('`') && info.includes('`')) continue // not a fence: an inline code span
    let end = i + 1
    while (end < lines.length && !new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(lines[end] ?? '')) end++
    blocks.push({
      info, lang: (info.split(/\s+/)[0] ?? '').toLowerCase(), code: lines.slice(i + 1, end).join('\n'),
      line: i + 2, open: i, close: Math.min(end, lines.length - 1),
    })
    i = end
  }
  return blocks
}

/**
 * The page with every fenced block emptied and every inline code span blanked, line breaks kept (so
 * positions still map to lines), so that nothing inside code counts as a link.
 */
export function proseOnly(text: string): string {
  const lines = text.split('\n')
  for (const block of fencedBlocks(text)) {
    for (let i = block.open; i <= block.close; i++) lines[i] = ''
  }
  return lines.join('\n').replace(/(`+)[\s\S]*?\1/g, (span) => span.replace(/[^\n]/g, ' '))
}

/** 1-based line of a position in a text. */
export function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length
}

/**
 * GitHub's anchor for a heading's text, as github-slugger makes it from the rendered text: markup
 * dropped, lower case, everything but letters, marks, digits, `-`, `_` and spaces removed, spaces to `-`.
 */
export function githubSlug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]*>/g, '') // inline HTML
    .replace(/`/g, '')
  return rendered.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-')
}

/** Every anchor a page offers: its headings' slugs (duplicates get -1, -2, ... as on GitHub) and HTML ids and names. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  // Headings are found in the page with fenced blocks blanked, but their own code spans kept.
  const lines = text.split('\n')
  const blanked = new Set<number>()
  for (const block of fencedBlocks(text)) {
    for (let i = block.open; i <= block.close; i++) blanked.add(i)
  }
  for (const [i, line] of lines.entries()) {
    if (blanked.has(i)) continue
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)
    if (heading === null) continue
    const base = githubSlug(heading[1] ?? '')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  for (const m of proseOnly(text).matchAll(/<a\s[^>]*\b(?:id|name)\s*=\s*"([^"]+)"/gi)) anchors.add(m[1] ?? '')
  return anchors
}

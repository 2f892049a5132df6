import { describe, expect, it } from 'vitest'
import { FALLBACK_SLUG, SLUG_MAX_LENGTH, slugOf, suffixedSlug } from '../../src/utils/slug.ts'

describe('slugOf', () => {
  it.each([
    ['Hello, World!', 'hello-world'],
    ['  Trim   me  ', 'trim-me'],
    ['Привет мир', 'privet-mir'],
    ['你好 世界', 'ni-hao-shi-jie'],
    ['Ünïcödé Ça va?', 'unicode-ca-va'],
    ['snake_case and--dashes', 'snake-case-and-dashes'],
    ['C++ & Rust: 2025', 'c-rust-2025'],
    ['🙂🙂', FALLBACK_SLUG],
    ['!!!', FALLBACK_SLUG],
  ])('makes %j into %j', (title, slug) => {
    expect(slugOf(title)).toBe(slug)
  })

  it('cuts long titles without leaving a trailing dash', () => {
    const slug = slugOf('ab '.repeat(200))
    expect(slug.length).toBeLessThanOrEqual(SLUG_MAX_LENGTH)
    expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/)
    expect(slugOf('x'.repeat(500))).toHaveLength(SLUG_MAX_LENGTH)
  })
})

describe('suffixedSlug', () => {
  it('adds six random [a-z0-9] characters', () => {
    const slugs = new Set(Array.from({ length: 50 }, () => suffixedSlug('hello')))
    expect(slugs.size).toBe(50)
    for (const slug of slugs) expect(slug).toMatch(/^hello-[a-z0-9]{6}$/)
  })
})

import { randomBytes } from 'node:crypto'
import { slugify } from 'transliteration'

/** Longest slug made from a title; a collision suffix may add a few characters (the column holds 255). */
export const SLUG_MAX_LENGTH = 200
/** The slug of a title with nothing transliterable in it (only emoji or punctuation). */
export const FALLBACK_SLUG = 'post'

const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
const SUFFIX_LENGTH = 6

/**
 * A URL-safe, lower-case ASCII slug of a title: other scripts are transliterated (`Привет мир` gives
 * `privet-mir`), every run of other characters becomes one `-`, and the result is cut to
 * {@link SLUG_MAX_LENGTH} characters without a trailing `-`.
 *
 * @param title the post's title
 * @returns `[a-z0-9]+(-[a-z0-9]+)*`, or {@link FALLBACK_SLUG} when nothing is left
 */
export function slugOf(title: string): string {
  const ascii = slugify(title, { lowercase: true, separator: '-', allowedChars: 'a-zA-Z0-9', trim: true })
  const slug = ascii
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/^-+|-+$/g, '')
  return slug || FALLBACK_SLUG
}

/**
 * The slug to try when `base` is taken: `base` plus a random suffix of six `[a-z0-9]`, so concurrent
 * creators of the same title rarely pick the same one (the UNIQUE constraint decides when they do).
 *
 * @param base a slug made by {@link slugOf}
 */
export function suffixedSlug(base: string): string {
  const bytes = randomBytes(SUFFIX_LENGTH)
  let suffix = ''
  for (const byte of bytes) suffix += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]
  return `${base}-${suffix}`
}

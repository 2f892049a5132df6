import { describe, expect, it } from 'vitest'
import { bodyFingerprint, canonicalJson } from '../../src/utils/fingerprint.ts'

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    )
  })
})

describe('bodyFingerprint', () => {
  it('matches bodies that differ only in key order, and tells other bodies apart', () => {
    expect(bodyFingerprint({ title: 't', tags: ['a', 'b'] })).toBe(
      bodyFingerprint({ tags: ['a', 'b'], title: 't' }),
    )
    expect(bodyFingerprint({ tags: ['a', 'b'] })).not.toBe(bodyFingerprint({ tags: ['b', 'a'] }))
    expect(bodyFingerprint({ title: 't' })).not.toBe(bodyFingerprint({ title: 't', summary: null }))
    expect(bodyFingerprint({ title: 't' })).toMatch(/^[0-9a-f]{64}$/)
  })
})

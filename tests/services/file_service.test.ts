import { describe, expect, it } from 'vitest'
import { sanitizeFilename } from '../../src/services/file_service.ts'

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\notes.txt', 'notes.txt'],
    ['line\r\nbreak\u0000.txt', 'linebreak.txt'],
    ['invoice\u202efdp.exe', 'invoicefdp.exe'],
    ['  spaced.txt  ', 'spaced.txt'],
    ['', 'file'],
    [undefined, 'file'],
    ['dir/', 'file'],
    ['e\u0301te\u0301.txt', 'été.txt'],
  ])('%j becomes %j', (raw, expected) => {
    expect(sanitizeFilename(raw)).toBe(expected)
  })

  it('shortens a long name to 255 characters, keeping its extension and whole characters', () => {
    const name = sanitizeFilename(`${'😀'.repeat(300)}.tar.gz`)
    expect(Array.from(name)).toHaveLength(255)
    expect(name.endsWith('😀.gz')).toBe(true)
    expect(name.isWellFormed()).toBe(true)
  })

  it('drops an extension too long to be one', () => {
    const name = sanitizeFilename(`a.${'b'.repeat(300)}`)
    expect(Array.from(name)).toHaveLength(255)
    expect(name.startsWith('a.bbb')).toBe(true)
  })
})

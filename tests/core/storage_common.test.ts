import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  assertObjectKey,
  attachmentDisposition,
  PayloadTooLargeException,
  spoolUpload,
  UploadInterruptedException,
} from '../../src/core/storage_common.ts'
import { DependencyException } from '../../src/exceptions.ts'
import { abortingBody, bodyOf } from '../support/storage.ts'

describe('attachmentDisposition', () => {
  it('offers an ASCII fallback and the exact UTF-8 name', () => {
    expect(attachmentDisposition('photo.png')).toBe(
      `attachment; filename="photo.png"; filename*=UTF-8''photo.png`,
    )
    expect(attachmentDisposition('naïve ünïcode.txt')).toBe(
      `attachment; filename="na_ve _n_code.txt"; filename*=UTF-8''na%C3%AFve%20%C3%BCn%C3%AFcode.txt`,
    )
  })

  it('keeps header injection, quotes and folders out', () => {
    const value = attachmentDisposition('..\\dir/evil"\r\nSet-Cookie: a=b;.html')
    expect(value).not.toMatch(/[\r\n]/)
    expect(value).toBe(
      `attachment; filename="evil_Set-Cookie: a=b_.html"; filename*=UTF-8''evil%22Set-Cookie%3A%20a%3Db%3B.html`,
    )
  })

  it('is a bare attachment without a usable name', () => {
    expect(attachmentDisposition()).toBe('attachment')
    expect(attachmentDisposition('')).toBe('attachment')
    expect(attachmentDisposition('dir/')).toBe('attachment')
  })
})

describe('assertObjectKey', () => {
  it('accepts generated-looking keys', () => {
    for (const key of ['a', 'files/0190c0de/photo.png', 'A-b_c.d/e'])
      expect(() => assertObjectKey(key)).not.toThrow()
  })

  it('refuses traversal, hidden segments and odd characters', () => {
    for (const key of ['..', 'a/..', './a', 'a/', '/a', 'a\\b', 'a b', 'é', 'a/.x']) {
      expect(() => assertObjectKey(key), key).toThrow(TypeError)
    }
  })
})

describe('spoolUpload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'folio-spool-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('writes the body and measures it', async () => {
    const path = join(dir, 'ok')
    const spooled = await spoolUpload(bodyOf(Buffer.from('hello')), path, 5)
    expect(spooled).toEqual({
      size: 5,
      sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
      md5: 'XUFAKrxLKna5cZ2REBfFkg==',
    })
  })

  it('tells a full body, a client abort and a disk failure apart, removing the file each time', async () => {
    const tooBig = join(dir, 'big')
    await expect(spoolUpload(bodyOf(randomBytes(6)), tooBig, 5)).rejects.toBeInstanceOf(
      PayloadTooLargeException,
    )
    expect(existsSync(tooBig)).toBe(false)

    const aborted = join(dir, 'aborted')
    await expect(spoolUpload(abortingBody(1000, 'error'), aborted, 5000)).rejects.toBeInstanceOf(
      UploadInterruptedException,
    )
    expect(existsSync(aborted)).toBe(false)

    const unwritable = join(dir, 'no-such-folder', 'file')
    await expect(spoolUpload(bodyOf(Buffer.from('x')), unwritable, 5)).rejects.toBeInstanceOf(
      DependencyException,
    )
  })
})

import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { createLogger, loggerOptions, REDACTED, redactSecrets } from '../../src/core/logging.ts'

/** The redaction the service configured before `redactSecrets`, as pino paths: the reference. */
const REFERENCE_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.hashed_password',
  'token',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.csrf_token',
  '*.key',
  '*.secret',
]

/** Collects the lines written to it, parsed and without their time. */
function sink() {
  const lines: Record<string, unknown>[] = []
  const stream = {
    write(chunk: string) {
      const { time: _time, ...line } = JSON.parse(chunk) as Record<string, unknown>
      lines.push(line)
    },
  }
  return { stream, lines }
}

class KeyedError extends Error {
  readonly key = 'lock-name'
  readonly code = 'E_KEYED'
}

const SAMPLES: Record<string, unknown>[] = [
  { method: 'GET', route: '/api/v1/posts/:post_id', status: 200, ms: 3 },
  { password: 'hunter22', token: 'tok', other: 'kept' },
  { password: undefined, token: null },
  { body: { email: 'a@example.com', password: 'p', new_password: 'n', current_password: 'c' } },
  { user: { hashed_password: '$2b$', username: 'ann' }, tokens: { access_token: 'a', refresh_token: 'r' } },
  { data: { csrf_token: 'x', key: 'k', secret: 's', keyName: 'kept' }, list: [{ password: 'deep' }] },
  {
    req: {
      method: 'GET',
      headers: {
        authorization: 'Bearer t',
        cookie: 'c',
        'x-api-key': 'k',
        'x-csrf-token': 'x',
        accept: '*/*',
      },
    },
  },
  { res: { statusCode: 200, headers: { 'set-cookie': 'refresh_token=r', 'content-type': 'json' } } },
  { headers: { authorization: 'Bearer t', cookie: 'c', 'x-api-key': 'kept at this level' } },
  { nested: { deeper: { password: 'two levels down is not redacted' } } },
  { err: new KeyedError('lock busy') },
  { password: { nested: 'the whole value goes' } },
]

describe('log redaction', () => {
  it('redacts exactly what the pino paths it replaces did', () => {
    const reference = sink()
    const referenceLogger = pino(
      {
        ...loggerOptions({ appEnv: 'test', logLevel: 'info' }),
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REFERENCE_PATHS, censor: REDACTED },
      },
      reference.stream,
    )
    const current = sink()
    const logger = createLogger({ appEnv: 'test', logLevel: 'info' }, current.stream)
    for (const sample of SAMPLES) {
      for (const log of [referenceLogger, logger]) {
        log.info(sample, 'line')
        log.child(sample).info('child line')
        log.child({ component: 'c' }).child(sample).info(sample, 'grandchild line')
      }
    }
    expect(current.lines).toHaveLength(SAMPLES.length * 3)
    expect(current.lines).toEqual(reference.lines)
    expect(JSON.stringify(current.lines)).not.toMatch(/hunter22|Bearer t|refresh_token=r|"\$2b\$"/)
  })

  it('replaces secrets in a copy and leaves the caller objects alone', () => {
    const error = new KeyedError('lock busy')
    const fields = { body: { password: 'p', email: 'e' }, err: error, token: 't', status: 200 }
    const out = redactSecrets(fields)
    expect(out).toEqual({
      body: { password: REDACTED, email: 'e' },
      err: expect.any(KeyedError),
      token: REDACTED,
      status: 200,
    })
    expect((out.err as KeyedError).key).toBe(REDACTED)
    expect((out.err as KeyedError).message).toBe('lock busy')
    expect(fields.body.password).toBe('p')
    expect(error.key).toBe('lock-name')
    expect(fields.token).toBe('t')
  })

  it('hands back a line without secrets as it is', () => {
    const fields = { method: 'GET', route: '/x', status: 200, nested: { fine: true } }
    expect(redactSecrets(fields)).toBe(fields)
  })
})

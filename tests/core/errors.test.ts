import { describe, expect, it } from 'vitest'
import { isConnectionFailure } from '../../src/core/errors.ts'

describe('isConnectionFailure', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a PostgreSQL admin shutdown', Object.assign(new Error('terminating'), { code: '57P01' })],
    ['a connection not opened in time', Object.assign(new Error('timeout'), { code: 'CONNECT_TIMEOUT' })],
    [
      'a dropped connection wrapped by the ORM',
      new Error('query failed', {
        cause: Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }),
      }),
    ],
    [
      'one of several attempts',
      new AggregateError([new Error('x'), Object.assign(new Error('y'), { code: 'ETIMEDOUT' })]),
    ],
  ])('recognises %s', (_what, error) => {
    expect(isConnectionFailure(error)).toBe(true)
  })

  it.each([
    ['a bug', new TypeError('undefined is not a function')],
    ['a refused query', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['nothing', undefined],
  ])('does not mistake %s for one', (_what, error) => {
    expect(isConnectionFailure(error)).toBe(false)
  })
})

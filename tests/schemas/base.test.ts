import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { createValidatorCompiler } from '../../src/core/validation.ts'
import { Nullable, Timestamp } from '../../src/schemas/base.ts'

describe('Nullable', () => {
  const Stamped = Type.Object({ at: Nullable(Timestamp, { description: 'when' }) })

  it('is the schema with nullable: true, as OpenAPI 3.0 writes it', () => {
    expect(Nullable(Timestamp, { description: 'when' })).toMatchObject({
      type: 'string',
      format: 'date-time',
      description: 'when',
      nullable: true,
    })
  })

  it('lets a response carry the value or null, and nothing else', async () => {
    const app = Fastify()
    app.get<{ Querystring: { at?: string } }>(
      '/',
      { schema: { response: { 200: Stamped } } },
      async (request) => ({ at: request.query.at ?? null, extra: 'dropped' }),
    )
    const at = '2026-11-25T03:04:05.123Z'
    expect((await app.inject({ url: `/?at=${at}` })).json()).toEqual({ at })
    expect((await app.inject({ url: '/' })).json()).toEqual({ at: null })
    await app.close()
  })

  it('validates a body field as the value or null', () => {
    const validate = createValidatorCompiler()({
      schema: Stamped,
      method: 'POST',
      url: '/',
      httpPart: 'body',
    }) as (value: unknown) => boolean
    expect(validate({ at: null })).toBe(true)
    expect(validate({ at: '2026-11-25T03:04:05.123Z' })).toBe(true)
    expect(validate({ at: 'yesterday' })).toBe(false)
    expect(validate({ at: 5 })).toBe(false)
  })
})

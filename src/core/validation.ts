import { Ajv, type Options } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'

const BASE: Options = {
  allErrors: true,
  useDefaults: true,
  // Unknown fields are refused by `additionalProperties: false`, never silently dropped.
  removeAdditional: false,
  strict: false,
}

function createAjv(options: Options): Ajv {
  const ajv = new Ajv({ ...BASE, ...options })
  addFormats.default(ajv, ['email', 'uuid', 'date-time', 'uri'])
  ajv.addKeyword({ keyword: 'x-examples' })
  return ajv
}

/**
 * The schema compiler of every route. Query strings, path parameters and headers arrive as text, so
 * they are coerced to the declared types; JSON bodies are not coerced: `"true"` is not a boolean.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<FastifySchema> {
  const coercing = createAjv({ coerceTypes: 'array' })
  const strict = createAjv({ coerceTypes: false })
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object)
}

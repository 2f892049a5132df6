import type { Readable } from 'node:stream'
import { type Static, Type } from '@sinclair/typebox'
import { Nullable, Timestamp, Uuid } from './base.ts'

/** Longest `purpose` of an upload (the column is `varchar(50)`). */
export const PURPOSE_MAX_LENGTH = 50

/** A stored file as the API shows it: never its object key or owner. */
export const FilePublic = Type.Object(
  {
    id: Uuid,
    filename: Type.String({ description: "the client's file name, kept as metadata only" }),
    content_type: Type.String({
      description: 'sniffed from the bytes; application/octet-stream when unknown',
    }),
    size: Type.Integer({ minimum: 0, description: 'bytes' }),
    purpose: Nullable(Type.String({ maxLength: PURPOSE_MAX_LENGTH })),
    url: Type.String({
      description: 'time-limited download URL (1 hour), served with `Content-Disposition: attachment`',
    }),
    created_at: Timestamp,
  },
  { title: 'File' },
)
/** The `data` of a File response. */
export type FileBody = Static<typeof FilePublic>

/** The multipart body of `POST /files`, for the OpenAPI document (the handler reads it as a stream). */
export const UploadFileBody = Type.Object({
  file: Type.String({
    format: 'binary',
    description: 'any type; at most UPLOAD_MAX_BYTES (10 MiB by default)',
  }),
  purpose: Type.Optional(
    Type.String({
      maxLength: PURPOSE_MAX_LENGTH,
      description: 'free text, at most 50 characters; an empty value is stored as null',
    }),
  ),
})

/** A `{file_id}` path. */
export const FileIdParams = Type.Object({ file_id: Uuid })

/**
 * One part of an upload form, in the order the client sent it. Free of any HTTP library, so the
 * service reads forms without knowing where they come from.
 */
export type UploadPart =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; filename: string | undefined; stream: Readable }

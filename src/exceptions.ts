/**
 * The exception hierarchy of the specification. Services throw these; the error handler turns each
 * into the error envelope with its `statusCode`.
 */

/** Base of every exception the API answers on purpose. `detail` goes into the envelope as is. */
export class AppException extends Error {
  readonly statusCode: number
  readonly detail: unknown
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>

  /**
   * @param message the envelope's `message`, safe to show to clients
   * @param statusCode the HTTP status
   * @param detail optional structured detail, safe to show to clients
   * @param headers extra response headers
   */
  constructor(
    message: string,
    statusCode: number,
    detail: unknown = null,
    headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = new.target.name
    this.statusCode = statusCode
    this.detail = detail
    this.headers = headers
  }
}

/** A business rule was broken (400), or a conflict such as a taken email (409 via {@link BusinessException.conflict}). */
export class BusinessException extends AppException {
  /** @param message what rule was broken */
  constructor(message: string, statusCode = 400, detail: unknown = null) {
    super(message, statusCode, detail)
  }

  /**
   * A uniqueness conflict (409).
   * @param message what is already taken
   */
  static conflict(message: string, detail: unknown = null): BusinessException {
    return new BusinessException(message, 409, detail)
  }
}

/** Missing, invalid, expired or revoked credentials (401 with `WWW-Authenticate: Bearer`). */
export class AuthenticationException extends AppException {
  /** @param message why the credentials were refused, without revealing which part was wrong */
  constructor(message = 'Not authenticated') {
    super(message, 401, null, { 'www-authenticate': 'Bearer' })
  }
}

/** Authenticated but not allowed (403). */
export class PermissionException extends AppException {
  /** @param message what the caller may not do */
  constructor(message = 'Not enough permissions') {
    super(message, 403)
  }
}

/** The resource is absent, soft-deleted, or not visible to the caller (404). */
export class ResourceNotFoundException extends AppException {
  /** @param message e.g. `Post not found` */
  constructor(message = 'Resource not found') {
    super(message, 404)
  }
}

/** One failed validation, as listed in a 422 `detail`. */
export interface ValidationIssue {
  loc: (string | number)[]
  msg: string
  type: string
}

/** Input failed validation: 422 with a list of issues, or 400 for a body that cannot be parsed. */
export class ValidationException extends AppException {
  /**
   * @param message summary line
   * @param detail the issues, each `{loc, msg, type}`
   * @param statusCode 422 by default; 400 for malformed bodies
   */
  constructor(message = 'Validation error', detail: ValidationIssue[] | null = null, statusCode = 422) {
    super(message, statusCode, detail)
  }
}

/** A dependency (database, cache, broker, storage) is unreachable or timed out (503). */
export class DependencyException extends AppException {
  /**
   * @param dependency the failing dependency's name, e.g. `cache`
   * @param cause the underlying error, logged but never shown
   */
  constructor(dependency: string, cause?: unknown) {
    super(`Service unavailable: ${dependency} is not reachable`, 503, { dependency })
    this.cause = cause
  }
}

/** Too many requests (429 with `Retry-After`). */
export class RateLimitException extends AppException {
  /** @param retryAfterSeconds seconds until the client may try again */
  constructor(retryAfterSeconds: number, message = 'Too many requests') {
    super(message, 429, null, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) })
  }
}

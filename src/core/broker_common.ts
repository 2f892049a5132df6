import type { ConsumeOptions } from './broker.ts'

/** Header counting deliveries through the retry path: 1 on the first delivery. */
export const ATTEMPT_HEADER = 'x-attempt'
/** Header keeping the original routing key while a message travels through retry queues. */
export const ROUTING_KEY_HEADER = 'x-routing-key'
/** Header carrying the last handler error of a retried or dead-lettered message. */
export const LAST_ERROR_HEADER = 'x-last-error'

/** Defaults for {@link ConsumeOptions}: five attempts over about six minutes. */
export const DEFAULT_CONSUME_OPTIONS: ConsumeOptions = {
  prefetch: 32,
  maxAttempts: 5,
  retryDelaysMs: [1_000, 10_000, 60_000, 300_000],
}

/** A handler error that retrying cannot fix (e.g. a malformed message): the message goes straight to the DLQ. */
export class NonRetryableError extends Error {
  /** @param message why the message cannot be processed */
  constructor(message: string) {
    super(message)
    this.name = 'NonRetryableError'
  }
}

/**
 * Fills the consume options a caller left out with {@link DEFAULT_CONSUME_OPTIONS}.
 * @param options the caller's options
 * @throws {Error} when a value is out of range
 */
export function resolveConsumeOptions(options: Partial<ConsumeOptions> = {}): ConsumeOptions {
  const resolved = { ...DEFAULT_CONSUME_OPTIONS, ...options }
  if (!Number.isInteger(resolved.prefetch) || resolved.prefetch < 1) throw new Error('prefetch must be >= 1')
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1)
    throw new Error('maxAttempts must be >= 1')
  if (resolved.retryDelaysMs.length === 0 || resolved.retryDelaysMs.some((d) => !(d >= 0)))
    throw new Error('retryDelaysMs must list at least one delay >= 0')
  return resolved
}

/**
 * The back-off before the retry that follows delivery `attempt`.
 * @param options the consume options
 * @param attempt the delivery that just failed (1-based)
 */
export function retryDelayFor(options: ConsumeOptions, attempt: number): number {
  const delays = options.retryDelaysMs
  return delays[Math.min(attempt - 1, delays.length - 1)] ?? 0
}

/**
 * Whether a message with this many deliveries behind it goes to the DLQ instead of another retry.
 * @param options the consume options
 * @param attempt the delivery that just failed
 * @param error what the handler threw
 */
export function isFinalAttempt(options: ConsumeOptions, attempt: number, error: unknown): boolean {
  return error instanceof NonRetryableError || attempt >= options.maxAttempts
}

/** A short, header-safe description of a handler error. */
export function errorSummary(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return text.slice(0, 500)
}

/**
 * The name of the queue holding retries of `queue` that wait `delayMs`.
 * @param queue the consumed queue
 * @param delayMs the back-off of that retry queue
 */
export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${delayMs}ms`
}

/**
 * The dead-letter queue of `queue`, where messages park after their last attempt.
 * @param queue the consumed queue
 */
export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`
}

/**
 * Reads the attempt counter of a delivery (1 when absent or unreadable).
 * @param headers the message headers
 */
export function attemptOf(headers: Record<string, unknown> | undefined): number {
  const value = Number(headers?.[ATTEMPT_HEADER] ?? 1)
  return Number.isInteger(value) && value >= 1 ? value : 1
}

/**
 * The headers of a failed message sent on to a retry queue or the DLQ.
 * @param headers the headers it arrived with
 * @param routingKey its original routing key
 * @param attempt the attempt counter it travels with
 * @param error what the handler threw
 */
export function reroutedHeaders(
  headers: Record<string, unknown>,
  routingKey: string,
  attempt: number,
  error: unknown,
): Record<string, unknown> {
  // `x-death` is the broker's own dead-lettering record: it is not ours to forward.
  const { 'x-death': _death, ...kept } = headers
  return {
    ...kept,
    [ATTEMPT_HEADER]: attempt,
    [ROUTING_KEY_HEADER]: routingKey,
    [LAST_ERROR_HEADER]: errorSummary(error),
  }
}

/**
 * The declaration of the durable topic exchange, shared by the publisher and every consumer so both
 * declare it again after a reconnect.
 * @param exchange the exchange name
 */
export function exchangeDeclaration(exchange: string) {
  return { exchange, type: 'topic', durable: true }
}

import bcrypt from 'bcrypt'

/**
 * Hashes a password with bcrypt. The native binding runs on libuv's thread pool, so the event loop
 * stays free while it works.
 *
 * @param password the plain password (at most 72 bytes: validated before it gets here)
 * @param rounds the bcrypt cost
 * @returns the bcrypt hash
 */
export function hashPassword(password: string, rounds: number): Promise<string> {
  return bcrypt.hash(password, rounds)
}

/**
 * Compares a password with a bcrypt hash, off the event loop.
 *
 * @param password the plain password
 * @param hash the stored hash
 * @returns true when they match
 */
export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash)
}

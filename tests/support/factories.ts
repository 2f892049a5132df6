import { randomBytes } from 'node:crypto'
import type { NewUser } from '../../src/models/user.ts'

/** A unique suffix so tests never collide on UNIQUE columns, whatever ran before. */
export function unique(): string {
  return randomBytes(5).toString('hex')
}

/**
 * Values of a new user row with unique email and username.
 * @param overrides columns to set
 */
export function userValues(overrides: Partial<NewUser> = {}): NewUser {
  const id = unique()
  return {
    email: `user-${id}@example.com`,
    username: `user_${id}`,
    hashedPassword: '$2b$04$notarealhashnotarealhashnotarealhashnotarealhash12',
    fullName: `User ${id}`,
    ...overrides,
  }
}

import { hashPassword, MAX_PASSWORD_BYTES } from '../core/security.ts'
import { ValidationException } from '../exceptions.ts'
import type { NewUser } from '../models/user.ts'
import type { RegisterInput } from '../schemas/user.ts'

/**
 * Refuses a password longer than bcrypt reads (72 bytes of UTF-8), so it is never silently truncated.
 * @param password the password
 * @param field the body field it came from, for the 422 detail
 * @throws {ValidationException} 422 when too long
 */
export function assertPasswordBytes(password: string, field: string): void {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new ValidationException('Validation error', [
      {
        loc: ['body', field],
        msg: `must be at most ${MAX_PASSWORD_BYTES} bytes of UTF-8`,
        type: 'max_bytes',
      },
    ])
  }
}

/**
 * The row of a new account: email and username lower-cased, password hashed.
 * @param input the registration
 * @param rounds the bcrypt cost
 */
export async function createUserRow(input: RegisterInput, rounds: number): Promise<NewUser> {
  return {
    email: input.email.toLowerCase(),
    username: input.username.toLowerCase(),
    fullName: input.full_name ?? null,
    hashedPassword: await hashPassword(input.password, rounds),
    isActive: true,
    isSuperuser: false,
    isVerified: false,
  }
}

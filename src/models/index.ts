/** Every Drizzle table; drizzle-kit reads this file to generate the migrations. */
export * from './refresh_token.ts'
export * from './user.ts'

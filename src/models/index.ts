/** Every Drizzle table; drizzle-kit reads this file to generate the migrations. */
export * from './action_token.ts'
export * from './api_key.ts'
export * from './file.ts'
export * from './outbox_event.ts'
export * from './post.ts'
export * from './processed_event.ts'
export * from './refresh_token.ts'
export * from './user.ts'

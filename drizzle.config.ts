import { defineConfig } from 'drizzle-kit'

/** drizzle-kit generates the SQL migrations in `migrations/` from the Drizzle tables in `src/models/`. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/models/index.ts',
  out: './migrations',
})

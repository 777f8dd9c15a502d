import { defineConfig } from 'drizzle-kit';

// `npm run -w examples/drizzle-posts db:generate` writes ./drizzle from src/schema.ts, offline.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
});

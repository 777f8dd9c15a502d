import { sqlTokens } from './sql-tokens.js';

/**
 * Removes `"public".` before names, outside string literals, comments and dollar-quoted bodies:
 * `REFERENCES "public"."authors"("id")` becomes `REFERENCES "authors"("id")`. ORM tools write
 * migrations for one database's `public` schema; unqualified, the same SQL runs in each
 * tenant's schema (through its `search_path`).
 */
export function unqualifyPublic(sql: string): string {
  let out = '';
  let publicName = false;
  for (const t of sqlTokens(sql)) {
    if (publicName && t.kind === 'code' && t.text.startsWith('.')) out += t.text.slice(1);
    else out += `${publicName ? '"public"' : ''}${t.kind === 'identifier' && t.text === '"public"' ? '' : t.text}`;
    publicName = t.kind === 'identifier' && t.text === '"public"';
  }
  return publicName ? `${out}"public"` : out;
}

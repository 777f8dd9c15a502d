/**
 * Removes `"public".` before names, outside string literals, comments and dollar-quoted bodies:
 * `REFERENCES "public"."authors"("id")` becomes `REFERENCES "authors"("id")`. ORM tools write
 * migrations for one database's `public` schema; unqualified, the same SQL runs in each
 * tenant's schema (through its `search_path`).
 */
export function unqualifyPublic(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    let end = i + 1;
    if (c === '"' && sql.startsWith('"public".', i)) {
      i += '"public".'.length;
      continue;
    }
    if (c === "'" || c === '"') {
      while (end < n) {
        if (sql[end] === c) {
          if (sql[end + 1] === c) end += 2;
          else {
            end++;
            break;
          }
        } else end++;
      }
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      end = nl < 0 ? n : nl;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close < 0 ? n : close + 2;
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag && (i === 0 || !/[\w$]/.test(sql[i - 1]!))) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        end = close < 0 ? n : close + tag[0].length;
      }
    }
    out += sql.slice(i, end);
    i = end;
  }
  return out;
}

/** A piece of SQL text as {@link sqlTokens} splits it. */
export interface SqlToken {
  /**
   * `code`: anything else — keywords, names, operators, placeholders. The others are opaque:
   * `string` ('…', E'…'), `identifier` ("…"), `comment` (-- … and nested /* … *\/), `dollar`
   * ($tag$ … $tag$).
   */
  readonly kind: 'code' | 'string' | 'identifier' | 'comment' | 'dollar';
  readonly text: string;
}

/**
 * Splits SQL into code and the parts that must be left alone — string literals (with E''
 * backslash escapes), quoted identifiers, line and nested block comments, dollar-quoted bodies
 * — so that rewrites (unqualifying `"public".`, inlining `$1`) touch only code. Concatenating
 * the tokens' texts gives `sql` back.
 */
export function* sqlTokens(sql: string): Generator<SqlToken> {
  const n = sql.length;
  let code = 0;
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    let kind: SqlToken['kind'] | undefined;
    let end = i + 1;
    if (c === "'" || c === '"') {
      kind = c === "'" ? 'string' : 'identifier';
      const escapes = c === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && (i < 2 || !/\w/.test(sql[i - 2]!));
      while (end < n) {
        if (escapes && sql[end] === '\\') end += 2;
        else if (sql[end] === c) {
          if (sql[end + 1] === c) end += 2;
          else {
            end++;
            break;
          }
        } else end++;
      }
    } else if (c === '-' && sql[i + 1] === '-') {
      kind = 'comment';
      const nl = sql.indexOf('\n', i);
      end = nl < 0 ? n : nl;
    } else if (c === '/' && sql[i + 1] === '*') {
      kind = 'comment';
      let depth = 1;
      end = i + 2;
      while (end < n && depth > 0) {
        if (sql.startsWith('/*', end)) {
          depth++;
          end += 2;
        } else if (sql.startsWith('*/', end)) {
          depth--;
          end += 2;
        } else end++;
      }
    } else if (c === '$' && (i === 0 || !/[\w$]/.test(sql[i - 1]!))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (tag) {
        kind = 'dollar';
        const close = sql.indexOf(tag[0], i + tag[0].length);
        end = close < 0 ? n : close + tag[0].length;
      }
    }
    if (kind === undefined) {
      i = end;
      continue;
    }
    if (code < i) yield { kind: 'code', text: sql.slice(code, i) };
    yield { kind, text: sql.slice(i, Math.min(end, n)) };
    i = code = Math.min(end, n);
  }
  if (code < n) yield { kind: 'code', text: sql.slice(code) };
}

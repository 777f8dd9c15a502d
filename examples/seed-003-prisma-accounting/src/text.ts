/** Text PostgreSQL can store: no NUL character, no lone UTF-16 surrogate. */
export const STORABLE_TEXT = /^(?:[^\0\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;

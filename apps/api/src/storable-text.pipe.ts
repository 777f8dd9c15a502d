import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { validationExceptionFactory } from '@tenantry/nestjs';

/** Strings PostgreSQL cannot store as text (NUL) or JavaScript cannot round-trip (lone surrogates). */
function unstorable(value: string): boolean {
  return value.includes('\u0000') || !(value as string & { isWellFormed(): boolean }).isWellFormed();
}

function check(value: unknown, path: string, errors: ValidationError[], depth: number): void {
  if (typeof value === 'string') {
    if (unstorable(value)) {
      errors.push({
        property: path,
        value: undefined,
        children: [],
        constraints: { storableText: `${path} must not contain NUL characters or unpaired surrogates` },
      });
    }
    return;
  }
  if (depth > 8 || value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) check(child, path === '' ? key : `${path}.${key}`, errors, depth + 1);
}

/**
 * Refuses, as a 400 VALIDATION_FAILED with the field named, any body, query or route string
 * that holds U+0000 or an unpaired surrogate — before validators that would throw on them
 * (`isEmail`) and before PostgreSQL, which refuses NUL in text (SQLSTATE 22021).
 */
export class StorableTextPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const errors: ValidationError[] = [];
    check(value, typeof value === 'string' ? (metadata.data ?? metadata.type) : '', errors, 0);
    if (errors.length > 0) throw validationExceptionFactory(errors);
    return value;
  }
}

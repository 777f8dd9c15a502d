import { BadRequestException } from '@nestjs/common';
import { HttpErrorCodes } from '@tenantry/nestjs';

/** A 400 VALIDATION_FAILED naming one field, shaped like the ValidationPipe's. */
export function fieldError(field: string, message: string): BadRequestException {
  return new BadRequestException({ code: HttpErrorCodes.VALIDATION_FAILED, message, errors: [{ field, messages: [message] }] });
}

import { applyDecorators } from '@nestjs/common';
import { IsString, Length, Matches, ValidateBy, ValidateIf } from 'class-validator';

/**
 * An optional body field: leaving it out is fine, `null` is not. class-validator's own
 * `@IsOptional()` lets `null` through as if the field were absent, so `{"dryRun": null}` would
 * read as "not a dry run" and stop agents for real.
 */
export const Optional = (): PropertyDecorator =>
  ValidateIf((_object: object, value: unknown) => value !== undefined);

/**
 * Characters that have no place in text people read: C0 and C1 controls (a NUL, a terminal
 * escape), DEL, and the bidirectional overrides and isolates that make text read otherwise than
 * it is stored. Multi-line text keeps line feeds and tabs.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex -- likewise
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export interface TextOptions {
  max: number;
  /** Multi-line text (a reason, a note) may hold line feeds and tabs; a name may not. */
  multiline?: boolean;
}

/**
 * Text people read (a name, a reason, a note): a string of 1 to `max` characters, not blank,
 * without control characters. Checked in this order, and the first failure is the one reported
 * (the app validates with stopAtFirstError), so `{"name": 5}` hears that name must be a string,
 * not that it is blank.
 */
export function Text(name: string, { max, multiline = false }: TextOptions): PropertyDecorator {
  return applyDecorators(
    IsString({ message: `${name} must be a string` }),
    Length(1, max, { message: `${name} must be 1 to ${max} characters long` }),
    Matches(/\S/, { message: `${name} must not be blank` }),
    ValidateBy({
      name: 'noControlCharacters',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && !(multiline ? CONTROL_BUT_LINES : CONTROL).test(value),
        defaultMessage: () =>
          multiline
            ? `${name} must not contain control characters (line feeds and tabs are fine)`
            : `${name} must be one line without control characters`,
      },
    }),
  );
}

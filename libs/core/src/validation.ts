import { applyDecorators, ValidationPipe } from '@nestjs/common';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import {
  IsString,
  Length,
  Matches,
  ValidateBy,
  ValidateIf,
  validateSync,
  type ValidationError,
  type ValidatorOptions,
} from 'class-validator';

/**
 * How every input is checked, on every transport: fields no DTO declares are refused (not
 * dropped: a client that sends one believes it does something), and each field gets one reason.
 */
export const VALIDATION_RULES = {
  whitelist: true,
  forbidNonWhitelisted: true,
  // "must not be blank; must be longer than...; must be a string" says one thing three times.
  stopAtFirstError: true,
} as const satisfies ValidatorOptions;

/**
 * Checks a payload that reaches no `ValidationPipe` (a socket event's) against a DTO, by the
 * same rules as HTTP bodies and with the same wording.
 *
 * @param type - the DTO class; its class-transformer decorators (`@Transform`) apply first.
 * @param what - how a problem names the payload when it is not an object at all.
 * @returns the DTO, or every problem in one sentence (`; ` between them, as HTTP answers say).
 */
export function validateInput<T extends object>(
  type: ClassConstructor<T>,
  input: unknown,
  what = 'the payload',
): { value: T } | { problem: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { problem: `${what} must be a JSON object` };
  }
  // class-transformer skips these two names (against prototype pollution): refused here, not
  // dropped. HTTP bodies never get this far with them (Fastify's JSON parser refuses them).
  const skipped = Object.keys(input).filter((key) => key === '__proto__' || key === 'constructor');
  const value = plainToInstance(type, input);
  const problems = [
    ...skipped.map((key) => `property ${key} should not exist`),
    ...sayRequired(validateSync(value, VALIDATION_RULES)).flatMap((error) =>
      Object.values(error.constraints ?? {}),
    ),
  ];
  return problems.length > 0 ? { problem: problems.join('; ') } : { value };
}

/**
 * A required field that was left out is said to be: class-validator checks an absent field like
 * any other value, so `{}` got "reason must be a string", which reads as a wrong type. It now
 * gets "reason is required: a string" (what the check wanted stays: the rest of its message).
 * A field that may be left out is skipped when absent (`@IsOptional`, {@link Optional}), so an
 * error on an absent value always means a required one.
 */
export function sayRequired(errors: ValidationError[]): ValidationError[] {
  return errors.map((error) => {
    const children = error.children && sayRequired(error.children);
    if (error.value !== undefined || !error.constraints) {
      return { ...error, children };
    }
    const asked = `${error.property} must be `;
    const constraints: Record<string, string> = {};
    for (const [name, message] of Object.entries(error.constraints)) {
      if (message.startsWith(`${error.property} is required`)) {
        constraints[name] = message; // said so already
      } else if (message.startsWith(asked)) {
        constraints[name] = `${error.property} is required: ${message.slice(asked.length)}`;
      } else {
        constraints[name] = `${error.property} is required (${message})`;
      }
    }
    return { ...error, constraints, children };
  });
}

/** Nest's ValidationPipe, with {@link sayRequired}'s wording for fields left out. */
export class InputValidationPipe extends ValidationPipe {
  protected override flattenValidationErrors(errors: ValidationError[]): string[] {
    return super.flattenValidationErrors(sayRequired(errors));
  }
}

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
 * it is stored (the incident report drops them from text stored before they were refused).
 * Multi-line text keeps line feeds and tabs.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
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
    Matches(/\S/, { message: `${name} must not be blank` }),
    Length(1, max, { message: `${name} must be 1 to ${max} characters long` }),
    ValidateBy({
      name: 'noControlCharacters',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          !(multiline ? CONTROL_BUT_LINES : CONTROL_CHARACTERS).test(value),
        defaultMessage: () =>
          multiline
            ? `${name} must not contain control characters (line feeds and tabs are fine)`
            : `${name} must be one line without control characters`,
      },
    }),
  );
}

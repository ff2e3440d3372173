import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** An optional `?name=` whole number from `min` to `max`, refused with one message otherwise. */
export function WholeNumberQuery(
  name: string,
  min: number,
  max: number,
  api: ApiPropertyOptions = {},
): PropertyDecorator {
  const message = `${name} must be a whole number from ${min} to ${max}`;
  return applyDecorators(
    ApiPropertyOptional({ type: 'integer', minimum: min, maximum: max, ...api }),
    IsOptional(),
    // Digits only: Number() would read '' as 0 and '0x10' as 16.
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value,
    ),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

/** `?limit=` of a paginated listing: a whole number from 1 to `max`, 50 when absent. */
export function PageLimit(max: number): PropertyDecorator {
  return WholeNumberQuery('limit', 1, max, { default: 50 });
}

import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `?limit=` of a paginated listing: a whole number from 1 to `max`, 50 when absent. */
export function PageLimit(max: number): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ default: 50, minimum: 1, maximum: max }),
    IsOptional(),
    // Digits only: Number() would read '' as 0 and '0x10' as 16.
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value,
    ),
    IsInt({ message: `limit must be a whole number from 1 to ${max}` }),
    Min(1, { message: `limit must be a whole number from 1 to ${max}` }),
    Max(max, { message: `limit must be a whole number from 1 to ${max}` }),
  );
}

import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `?limit=` of a paginated listing: a whole number from 1 to `max`, 50 when absent. */
export function PageLimit(max: number): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ default: 50, minimum: 1, maximum: max }),
    IsOptional(),
    Transform(({ value }: { value: unknown }) => Number(value)),
    IsInt({ message: 'limit must be a whole number' }),
    Min(1),
    Max(max),
  );
}

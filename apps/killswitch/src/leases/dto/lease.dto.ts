import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Optional } from '@app/core';
import { IsInt, Min } from 'class-validator';

export class IssueLeaseDto {
  @ApiPropertyOptional({
    description:
      'Lifetime between heartbeats; default LEASE_DEFAULT_TTL_SECONDS, at most LEASE_MAX_TTL_SECONDS',
    example: 30,
  })
  @Optional()
  @Min(1, { message: 'ttlSeconds must be at least 1' })
  @IsInt({ message: 'ttlSeconds must be a whole number of seconds' })
  ttlSeconds?: number;
}

export class IssuedLeaseDto {
  @ApiProperty({ example: 'lse_0a1b2c3d4e5f6a7b' }) leaseId!: string;
  @ApiProperty({
    description: 'Shown once; the agent presents it as a Bearer token',
    example: 'ksl_…',
  })
  token!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({
    description: 'No renewal extends the lease past this (LEASE_MAX_LIFETIME_SECONDS after issue)',
  })
  maxExpiresAt!: string;
  @ApiProperty({ example: 1 }) epoch!: number;
}

export class HeartbeatDto {
  @ApiProperty({ enum: ['active'] }) status!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({
    description: 'No renewal extends the lease past this (LEASE_MAX_LIFETIME_SECONDS after issue)',
  })
  maxExpiresAt!: string;
  @ApiProperty() epoch!: number;
}

export class IntrospectionRequestDto {
  @ApiProperty({ description: 'The lease token to check (form field or JSON)' }) token!: string;
  @ApiPropertyOptional() token_type_hint?: string;
}

export class IntrospectionDto {
  @ApiProperty() active!: boolean;
  @ApiPropertyOptional({ description: 'The agent id' }) sub?: string;
  @ApiPropertyOptional() client_id?: string;
  @ApiPropertyOptional({ description: "The agent's allowed action types, space-separated" })
  scope?: string;
  @ApiPropertyOptional() exp?: number;
  @ApiPropertyOptional() iat?: number;
  @ApiPropertyOptional({ enum: ['Bearer'] }) token_type?: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Optional } from '@app/core';
import { IsInt, Min } from 'class-validator';

export class IssueLeaseDto {
  @ApiPropertyOptional({
    description:
      'Lifetime between heartbeats; default LEASE_DEFAULT_TTL_SECONDS, at most LEASE_MAX_TTL_SECONDS',
    type: 'integer',
    minimum: 1,
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
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({
    format: 'date-time',
    description: 'No renewal extends the lease past this (LEASE_MAX_LIFETIME_SECONDS after issue)',
  })
  maxExpiresAt!: string;
  @ApiProperty({ type: 'integer', description: "The agent's epoch", example: 1 }) epoch!: number;
}

export class HeartbeatDto {
  @ApiProperty({ enum: ['active'] }) status!: 'active';
  @ApiProperty({ format: 'date-time', description: 'The TTL started again' }) expiresAt!: string;
  @ApiProperty({
    format: 'date-time',
    description: 'No renewal extends the lease past this (LEASE_MAX_LIFETIME_SECONDS after issue)',
  })
  maxExpiresAt!: string;
  @ApiProperty({ type: 'integer', example: 1 }) epoch!: number;
}

export class IntrospectionRequestDto {
  @ApiProperty({ description: 'The lease token to check (form field or JSON)' }) token!: string;
  @ApiPropertyOptional() token_type_hint?: string;
}

/** RFC 7662: `{active: false}` and nothing else for a token that is not live. */
export class IntrospectionDto {
  @ApiProperty() active!: boolean;
  @ApiPropertyOptional({ description: 'The agent id', example: 'agt_3f9a1c2b4d5e6f70' })
  sub?: string;
  @ApiPropertyOptional({ description: 'The agent id', example: 'agt_3f9a1c2b4d5e6f70' })
  client_id?: string;
  @ApiPropertyOptional({
    description: "The agent's allowed action types, space-separated",
    example: 'email.archive',
  })
  scope?: string;
  @ApiPropertyOptional({ type: 'integer', description: 'Expiry, in seconds since the Unix epoch' })
  exp?: number;
  @ApiPropertyOptional({ type: 'integer', description: 'Issue, in seconds since the Unix epoch' })
  iat?: number;
  @ApiPropertyOptional({ enum: ['Bearer'] }) token_type?: string;
  @ApiPropertyOptional({ example: 'lse_0a1b2c3d4e5f6a7b' }) lease_id?: string;
  @ApiPropertyOptional({ type: 'integer', description: "The agent's epoch", example: 1 })
  epoch?: number;
  @ApiPropertyOptional({ description: "The agent's owner", example: 'usr_3f9a1c2b4d5e6f70' })
  owner?: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_CODES } from '@app/core';

/**
 * Every error answer (`ErrorBody` in `@app/core`, written by the one exception filter): a
 * stable code and a sentence for people, and a few fields some errors add.
 */
export class ErrorDto {
  @ApiProperty({
    description: `Stable code: ${ERROR_CODES.join(', ')}`,
    example: 'not_found',
  })
  error!: string;

  @ApiProperty({ example: 'Agent agt_3f9a1c2b4d5e6f70 not found' })
  message!: string;

  @ApiPropertyOptional({
    enum: ['revoked', 'expired', 'invalid'],
    description: 'A refused lease token (lease_revoked, lease_expired, lease_invalid): why',
  })
  status?: string;

  @ApiPropertyOptional({ description: 'lease_revoked: the reason the agent was revoked' })
  reason?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'lease_revoked: when' })
  revokedAt?: string;

  @ApiPropertyOptional({
    example: 'inc_3f9a1c2b4d5e6f70',
    description: 'lease_revoked: the incident that revoked the agent',
  })
  incidentId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'lease_expired: when' })
  expiredAt?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'not_found from a bulk stop whose agentIds name no agent: those ids',
  })
  missingIds?: string[];
}

import { PageLimit } from '../../common/page-limit.decorator';
import { AGENT_ID, isLabels, LABEL_KEY, LABEL_VALUE } from '@app/agents';
import { USER_ID } from '@app/auth';
import { MAX_AGENT_CONCURRENCY } from '@app/config';
import { Optional, Text } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';

export const ACTION_TYPE = /^[a-z0-9][a-z0-9._-]{0,99}$/;

@ValidatorConstraint({ name: 'labels' })
class LabelsConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isLabels(value);
  }

  defaultMessage(): string {
    return 'labels must be an object of at most 20 string labels; keys are 1-63 letters, digits, ".", "_", "/" or "-"; values up to 63 letters, digits, ".", "_", ":", "@" or "-"';
  }
}

export class CreateAgentDto {
  @ApiProperty({ example: 'inbox-cleaner' })
  @Text('name', { max: 100 })
  name!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { team: 'infra', env: 'prod' },
  })
  @Optional()
  @Validate(LabelsConstraint)
  @IsObject({ message: 'labels must be an object such as {"team": "infra"}' })
  labels?: Record<string, string>;

  @ApiPropertyOptional({ example: ['email.archive', 'email.send'] })
  @Optional()
  @Matches(ACTION_TYPE, {
    each: true,
    message: 'each allowedActions entry must be an action type such as "email.archive"',
  })
  @ArrayMaxSize(100)
  @IsArray({ message: 'allowedActions must be an array of action types' })
  allowedActions?: string[];

  @ApiPropertyOptional({
    description: 'How many of its actions may run at once (default ACTION_AGENT_CONCURRENCY)',
    type: 'integer',
    minimum: 1,
    maximum: MAX_AGENT_CONCURRENCY,
  })
  @Optional()
  @Max(MAX_AGENT_CONCURRENCY)
  @Min(1)
  @IsInt({ message: 'concurrency must be a whole number' })
  concurrency?: number;
}

export class AgentDto {
  @ApiProperty({ example: 'agt_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty({ example: 'inbox-cleaner' }) name!: string;
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70', description: 'The user who registered it' })
  owner!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { team: 'infra' },
  })
  labels!: Record<string, string>;
  @ApiProperty({ example: ['email.archive'] }) allowedActions!: string[];
  @ApiPropertyOptional({
    type: 'integer',
    description: 'How many of its actions may run at once; absent: ACTION_AGENT_CONCURRENCY',
    example: 1,
  })
  concurrency?: number;
  @ApiProperty({ enum: ['active', 'revoked'] }) status!: 'active' | 'revoked';
  @ApiProperty({
    type: 'integer',
    description: 'Fencing token: grows on every revocation and reinstatement',
    example: 1,
  })
  epoch!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'Revoked agents only' })
  revokedAt?: string;
  @ApiPropertyOptional({ description: 'Revoked agents only' }) revokeReason?: string;
  @ApiPropertyOptional({
    example: 'usr_3f9a1c2b4d5e6f70',
    description: 'Revoked agents only: the user who stopped it',
  })
  revokedBy?: string;
  @ApiPropertyOptional({
    example: 'inc_3f9a1c2b4d5e6f70',
    description: 'Revoked agents only: the incident of that stop',
  })
  incidentId?: string;
}

export class AgentPageDto {
  @ApiProperty({ type: [AgentDto] }) items!: AgentDto[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The next page's ?cursor=; null on the last page",
  })
  nextCursor!: string | null;
}

export class DeletedAgentDto {
  @ApiProperty({ example: 'agt_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty({ enum: [true] }) deleted!: true;
}

export class ReinstatedAgentDto {
  @ApiProperty({ example: 'agt_3f9a1c2b4d5e6f70' }) agentId!: string;
  @ApiProperty({ enum: ['active'] }) status!: 'active';
  @ApiProperty({ type: 'integer', description: 'The new epoch', example: 3 }) epoch!: number;
  @ApiProperty({ format: 'date-time' }) reinstatedAt!: string;
}

export class AgentIdParams {
  @ApiProperty({ description: 'An agent id', example: 'agt_3f9a1c2b4d5e6f70' })
  @IsString()
  @Matches(AGENT_ID, { message: 'id must be an agent id such as agt_3f9a1c2b4d5e6f70' })
  id!: string;
}

/** `key=value`, each part as an agent's labels allow: no agent could match anything else. */
const LABEL_FILTER = new RegExp(
  `^${LABEL_KEY.source.slice(1, -1)}=${LABEL_VALUE.source.slice(1, -1)}$`,
);

export class ListAgentsQuery {
  @ApiPropertyOptional({
    description: 'key=value; repeat to require several labels',
    example: 'team=infra',
    type: [String],
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    Array.isArray(value) ? (value as unknown[]) : [value],
  )
  @IsArray()
  @Matches(LABEL_FILTER, {
    each: true,
    message: 'label must look like key=value, with a key and a value such as agents may have',
  })
  label?: string[];

  @ApiPropertyOptional({ enum: ['active', 'revoked'] })
  @IsOptional()
  @IsIn(['active', 'revoked'], { message: 'status must be active or revoked' })
  status?: 'active' | 'revoked';

  @ApiPropertyOptional({ example: 'usr_3f9a1c2b4d5e6f70' })
  @IsOptional()
  @Matches(USER_ID, { message: 'owner must be a user id' })
  owner?: string;

  @PageLimit(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{15}:agt_[0-9a-f]{16}$/, { message: 'cursor is not one this API returned' })
  cursor?: string;
}

export class ReasonDto {
  @ApiProperty({ example: 'deleting mail it should archive' })
  @Text('reason', { max: 500, multiline: true })
  reason!: string;
}

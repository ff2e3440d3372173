import { PageLimit } from '../../common/page-limit.decorator';
import { ApiProperty, ApiPropertyOptional, type SchemaObject } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ACTION_ID, ACTION_STATUSES } from '@app/actions';
import { Optional } from '@app/core';
import { ACTION_TYPE } from '../../agents/dto/agent.dto';

export class ExecutorDto {
  @ApiProperty({ enum: ['webhook', 'noop'], example: 'webhook' })
  // Nested: the pipe puts "executor." in front of each message.
  @IsIn(['webhook', 'noop'], { message: 'kind must be webhook or noop' })
  kind!: 'webhook' | 'noop';

  @ApiPropertyOptional({ example: 'https://tools.example.com/email/archive' })
  @Optional()
  @IsString({ message: 'url must be a string' })
  url?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 300_000,
    example: 10000,
    default: 10000,
  })
  @Optional()
  @Max(300_000)
  @Min(1)
  @IsInt({ message: 'timeoutMs must be a whole number of milliseconds' })
  timeoutMs?: number;

  @ApiPropertyOptional({ description: 'HMAC-SHA256 key shared with the tool server (>= 16 chars)' })
  @Optional()
  @IsString({ message: 'secret must be a string' })
  secret?: string;
}

export class PutActionTypeDto {
  @ApiProperty({ type: ExecutorDto })
  @ValidateNested()
  @IsObject({ message: 'executor must be an object such as {"kind": "webhook", "url": "…"}' })
  @Type(() => ExecutorDto)
  executor!: ExecutorDto;

  @ApiProperty({ example: true })
  @IsBoolean({ message: 'reversible must be true or false' })
  reversible!: boolean;

  @ApiPropertyOptional({ example: 'email.unarchive' })
  @Optional()
  @Matches(ACTION_TYPE, {
    message: 'compensation must be an action type such as "email.unarchive"',
  })
  compensation?: string;

  @ApiPropertyOptional({ example: false, description: 'Reserved for approvals; must be false' })
  @Optional()
  @IsBoolean({ message: 'requiresApproval must be true or false' })
  requiresApproval?: boolean;
}

export class ActionTypeParams {
  @ApiProperty({ description: 'An action type', example: 'email.archive' })
  @Matches(ACTION_TYPE, { message: 'type must be an action type such as "email.archive"' })
  type!: string;
}

export class SubmitActionDto {
  @ApiProperty({ example: 'email.archive' })
  @IsString()
  @Matches(ACTION_TYPE, { message: 'type must be an action type such as "email.archive"' })
  type!: string;

  @ApiPropertyOptional({ example: { messageId: 'm-123' }, description: 'Passed to the executor' })
  @Allow()
  params?: unknown;

  @ApiPropertyOptional({ example: '2f6c1e4a-retry-safe' })
  @Optional()
  @Matches(/^[\x21-\x7e]+$/, { message: 'idempotencyKey must be printable ASCII without spaces' })
  @Length(1, 200)
  @IsString({ message: 'idempotencyKey must be a string' })
  idempotencyKey?: string;
}

export class SubmittedActionDto {
  @ApiProperty({ example: 'act_3f9a1c2b4d5e6f70_0a1b2c3d4e5f6a7b' }) id!: string;
  @ApiProperty({
    enum: ACTION_STATUSES,
    description: 'queued; for a retried idempotencyKey, the first action and its status now',
    example: 'queued',
  })
  status!: string;
}

export class ActionIdParams {
  @ApiProperty({
    description: 'An action id',
    example: 'act_3f9a1c2b4d5e6f70_0a1b2c3d4e5f6a7b',
  })
  @Matches(ACTION_ID, { message: 'id must be an action id' })
  id!: string;
}

export class ListActionsQuery {
  @PageLimit(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,15}$/, { message: 'cursor is not one this API returned' })
  cursor?: string;
}

/** Any JSON value, null included: what the agent or the tool server sent. */
const ANY_JSON: Pick<SchemaObject, 'oneOf'> = {
  oneOf: [
    { type: 'object', nullable: true },
    { type: 'array', items: {} },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
  ],
};

/** An executor as the catalog shows it: a webhook's secret never, its path to admins only. */
export class ActionTypeExecutorDto {
  @ApiProperty({ enum: ['webhook', 'noop'] }) kind!: string;
  @ApiPropertyOptional({
    description: 'Webhooks: to non-admins, its origin and /[hidden] when it has a path or query',
    example: 'https://tools.example.com/[hidden]',
  })
  url?: string;
  @ApiPropertyOptional({ type: 'integer', description: 'Webhooks', example: 10000 })
  timeoutMs?: number;
  @ApiPropertyOptional({ enum: ['[set]'], description: 'Webhooks: never shown' }) secret?: string;
}

export class ActionTypeDto {
  @ApiProperty({ example: 'email.archive' }) type!: string;
  @ApiProperty({ type: ActionTypeExecutorDto }) executor!: ActionTypeExecutorDto;
  @ApiProperty() reversible!: boolean;
  @ApiPropertyOptional({ example: 'email.unarchive' }) compensation?: string;
  @ApiProperty({ enum: [false], description: 'Reserved for approvals' }) requiresApproval!: boolean;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class ActionTypeListDto {
  @ApiProperty({ type: [ActionTypeDto] }) items!: ActionTypeDto[];
}

export class DeletedActionTypeDto {
  @ApiProperty({ example: 'email.archive' }) type!: string;
  @ApiProperty({ enum: [true] }) deleted!: true;
}

export class ActionHistoryEntryDto {
  @ApiProperty({ enum: ACTION_STATUSES }) status!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiPropertyOptional({ example: 'attempt 1' }) detail?: string;
}

export class ActionDto {
  @ApiProperty({ example: 'act_3f9a1c2b4d5e6f70_0a1b2c3d4e5f6a7b' }) id!: string;
  @ApiProperty({ example: 'agt_3f9a1c2b4d5e6f70' }) agentId!: string;
  @ApiProperty({ example: 'email.archive' }) type!: string;
  @ApiProperty({ ...ANY_JSON, description: 'As submitted ({} when left out)' }) params!: unknown;
  @ApiProperty({ enum: ACTION_STATUSES }) status!: string;
  @ApiProperty({ type: 'integer', description: "The agent's epoch it was submitted under" })
  epoch!: number;
  @ApiProperty({ type: 'integer', description: "Its place in the agent's ledger" }) seq!: number;
  @ApiProperty({ type: 'integer' }) attempts!: number;
  @ApiProperty({ format: 'date-time' }) submittedAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) startedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) finishedAt?: string;
  @ApiPropertyOptional() idempotencyKey?: string;
  @ApiPropertyOptional({ ...ANY_JSON, description: "The tool server's result" }) result?: unknown;
  @ApiPropertyOptional({
    ...ANY_JSON,
    description: 'What its compensation receives as params on a rollback',
  })
  undo?: unknown;
  @ApiPropertyOptional({ description: 'Why it failed' }) error?: string;
  @ApiPropertyOptional({ description: 'The incident that rolled it back (or tried to)' })
  rollbackIncident?: string;
  @ApiPropertyOptional() rollbackDetail?: string;
  @ApiProperty({ type: [ActionHistoryEntryDto], description: 'Every status change, oldest first' })
  history!: ActionHistoryEntryDto[];
}

export class ActionPageDto {
  @ApiProperty({ type: [ActionDto] }) items!: ActionDto[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The next page's ?cursor=; null on the last page",
  })
  nextCursor!: string | null;
}

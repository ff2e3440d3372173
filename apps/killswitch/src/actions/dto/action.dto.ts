import { PageLimit } from '../../common/page-limit.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
import { ACTION_ID } from '@app/actions';
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

  @ApiPropertyOptional({ example: 10000, default: 10000 })
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
  @ApiProperty({ example: 'queued' }) status!: string;
}

export class ActionIdParams {
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

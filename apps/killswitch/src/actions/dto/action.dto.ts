import { PageLimit } from '../../common/page-limit.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ACTION_ID } from '@app/actions';
import { ACTION_TYPE } from '../../agents/dto/agent.dto';

export class ExecutorDto {
  @ApiProperty({ enum: ['webhook', 'noop'], example: 'webhook' })
  @IsIn(['webhook', 'noop'], { message: 'executor.kind must be webhook or noop' })
  kind!: 'webhook' | 'noop';

  @ApiPropertyOptional({ example: 'https://tools.example.com/email/archive' })
  @IsOptional()
  @IsString()
  url?: string;

  @ApiPropertyOptional({ example: 10000, default: 10000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(300_000)
  timeoutMs?: number;

  @ApiPropertyOptional({ description: 'HMAC-SHA256 key shared with the tool server (>= 16 chars)' })
  @IsOptional()
  @IsString()
  secret?: string;
}

export class PutActionTypeDto {
  @ApiProperty({ type: ExecutorDto })
  @ValidateNested()
  @Type(() => ExecutorDto)
  executor!: ExecutorDto;

  @ApiProperty({ example: true })
  @IsBoolean()
  reversible!: boolean;

  @ApiPropertyOptional({ example: 'email.unarchive' })
  @IsOptional()
  @Matches(ACTION_TYPE, {
    message: 'compensation must be an action type such as "email.unarchive"',
  })
  compensation?: string;

  @ApiPropertyOptional({ example: false, description: 'Reserved for approvals; must be false' })
  @IsOptional()
  @IsBoolean()
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
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @Matches(/^[\x21-\x7e]+$/, { message: 'idempotencyKey must be printable ASCII without spaces' })
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

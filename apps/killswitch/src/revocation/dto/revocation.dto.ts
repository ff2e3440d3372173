import { PageLimit, WholeNumberQuery } from '../../common/page-limit.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  Allow,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { INCIDENT_ID, type RollbackPolicy } from '@app/incidents';
import { isSelector, SELECTOR_SHAPES, selectorProblem, type Selector } from '@app/revocation';

@ValidatorConstraint({ name: 'selector' })
export class SelectorConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isSelector(value);
  }

  defaultMessage(args?: ValidationArguments): string {
    return selectorProblem(args?.value) ?? `selector must be ${SELECTOR_SHAPES}`;
  }
}

@ValidatorConstraint({ name: 'rollback' })
export class RollbackConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (value === 'none' || value === 'epoch') {
      return true;
    }
    if (typeof value === 'object' && value !== null && Object.keys(value).length === 1) {
      const since = (value as { since?: unknown }).since;
      return typeof since === 'string' && !Number.isNaN(Date.parse(since));
    }
    return false;
  }

  defaultMessage(): string {
    return 'rollback must be "none", "epoch" or {since: "<ISO time>"}';
  }
}

export class RevokeAgentDto {
  @ApiPropertyOptional({ example: 'deleting mail it should archive', default: 'revoked' })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  reason?: string;

  @ApiPropertyOptional({
    description:
      'What to roll back: "none", "epoch" (default: what it did under the revoked epoch) or {since}',
    example: 'epoch',
  })
  @IsOptional()
  @Validate(RollbackConstraint)
  rollback?: RollbackPolicy;
}

export class RevocationDto extends RevokeAgentDto {
  @ApiProperty({ example: { labels: { team: 'infra' } } })
  @Allow()
  @Validate(SelectorConstraint)
  selector!: Selector;

  @ApiPropertyOptional({ description: 'Answer how many agents would be hit; change nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class IncidentIdParams {
  @Matches(INCIDENT_ID, {
    message: 'id must be an incident id such as inc_3f9a1c2b4d5e6f70',
  })
  id!: string;
}

export class IncidentQuery {
  @ApiPropertyOptional({ enum: ['md', 'json'] })
  @IsOptional()
  @IsIn(['md', 'json'], { message: 'format must be md or json' })
  format?: 'md' | 'json';

  @WholeNumberQuery('timeline', 0, 10_000, {
    description:
      'Only the newest N timeline entries (JSON only; `timelineTotal` says how many there are)',
  })
  timeline?: number;

  @WholeNumberQuery('review', 0, 10_000, {
    description: 'Only the first N review items (JSON only; `reviewTotal` says how many there are)',
  })
  review?: number;

  @WholeNumberQuery('agents', 0, 10_000, {
    description: 'Only the first N agent ids (JSON only; `agents` says how many there are)',
  })
  agents?: number;
}

export class ListIncidentsQuery {
  @ApiPropertyOptional({ enum: ['open', 'following_up', 'done', 'resolved'] })
  @IsOptional()
  @IsIn(['open', 'following_up', 'done', 'resolved'], {
    message: 'status must be open, following_up, done or resolved',
  })
  status?: 'open' | 'following_up' | 'done' | 'resolved';

  @PageLimit(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,15}(_inc_[0-9a-f]{16})?$/, { message: 'cursor is not one this API returned' })
  cursor?: string;
}

export class ResolveIncidentDto {
  @ApiProperty({ example: 'root cause fixed; agent retired' })
  @IsString()
  @Length(1, 2000)
  @Matches(/\S/, { message: 'note must not be blank' })
  note!: string;

  @ApiPropertyOptional({
    description:
      'Admins only: resolve an incident still open or following up, whose follow-up is stuck ' +
      '(its halts, aborts and rollbacks stop where they are; the timeline says so)',
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

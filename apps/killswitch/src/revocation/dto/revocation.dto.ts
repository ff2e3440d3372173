import { PageLimit, WholeNumberQuery } from '../../common/page-limit.decorator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  Allow,
  IsBoolean,
  IsIn,
  IsOptional,
  Matches,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { Optional, Text } from '@app/core';
import { INCIDENT_ID, type RollbackPolicy } from '@app/incidents';
import { SelectorConstraint, type Selector } from '@app/revocation';

/**
 * An instant written out in full, as `toISOString()` writes it or with an offset: a date, a
 * time and a zone. `Date.parse` alone would take "1" or "March 7" (local time, 2001), and a
 * typo would then roll back everything the ledger still holds.
 */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** How far ahead of this server's clock a `since` may be (the caller's clock may run ahead). */
const SINCE_SKEW_MS = 60_000;

function sinceProblem(since: unknown): string | undefined {
  const iso = typeof since === 'string' ? ISO_INSTANT.exec(since) : null;
  if (!iso) {
    return 'rollback.since must be an ISO 8601 time with a zone, such as 2026-11-27T14:00:00Z';
  }
  const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  const at = Date.parse(since as string);
  if (Number.isNaN(at) || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return `rollback.since is not a real time: ${String(since)}`;
  }
  if (at > Date.now() + SINCE_SKEW_MS) {
    return 'rollback.since is in the future, which would roll back nothing (send "none" for that)';
  }
  return undefined;
}

@ValidatorConstraint({ name: 'rollback' })
export class RollbackConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (value === 'none' || value === 'epoch') {
      return true;
    }
    return isSinceOnly(value) && sinceProblem(value.since) === undefined;
  }

  defaultMessage(args?: ValidationArguments): string {
    const value: unknown = args?.value;
    return (
      (isSinceOnly(value) ? sinceProblem(value.since) : undefined) ??
      'rollback must be "none", "epoch" or {"since": "<ISO time>"}'
    );
  }
}

function isSinceOnly(value: unknown): value is { since: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    'since' in value
  );
}

export class RevokeAgentDto {
  @ApiPropertyOptional({ example: 'deleting mail it should archive', default: 'revoked' })
  @Optional()
  @Text('reason', { max: 500, multiline: true })
  reason?: string;

  @ApiPropertyOptional({
    description:
      'What to roll back: "none", "epoch" (default: what it did under the revoked epoch) or {since}',
    example: 'epoch',
  })
  @Optional()
  @Validate(RollbackConstraint)
  rollback?: RollbackPolicy;
}

export class RevocationDto extends RevokeAgentDto {
  @ApiProperty({ example: { labels: { team: 'infra' } } })
  @Allow()
  @Validate(SelectorConstraint)
  selector!: Selector;

  @ApiPropertyOptional({ description: 'Answer how many agents would be hit; change nothing' })
  @Optional()
  @IsBoolean({ message: 'dryRun must be true or false' })
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
  @Text('note', { max: 2000, multiline: true })
  note!: string;

  @ApiPropertyOptional({
    description:
      'Admins only: resolve an incident still open or following up, whose follow-up is stuck ' +
      '(its halts, aborts and rollbacks stop where they are; the timeline says so)',
  })
  @Optional()
  @IsBoolean({ message: 'force must be true or false' })
  force?: boolean;
}

import { PageLimit, WholeNumberQuery } from '../../common/page-limit.decorator';
import { ApiProperty, ApiPropertyOptional, type SchemaObject } from '@nestjs/swagger';
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
import { ROLES } from '@app/auth';
import { closedSchema, Optional, Text } from '@app/core';
import { INCIDENT_ID, type RollbackPolicy } from '@app/incidents';
import { SELECTOR_SCHEMAS, SelectorConstraint, type Selector } from '@app/revocation';

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

/** `"none"`, `"epoch"` or `{"since": "<ISO time>"}`: what a stop rolls back. */
const ROLLBACK_SCHEMAS: SchemaObject[] = [
  { type: 'string', enum: ['none', 'epoch'] },
  closedSchema({
    since: {
      type: 'string',
      description: 'An ISO 8601 time with its zone, not in the future',
      example: '2026-11-27T14:00:00Z',
    },
  }),
];

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
    oneOf: ROLLBACK_SCHEMAS,
    example: 'epoch',
  })
  @Optional()
  @Validate(RollbackConstraint)
  rollback?: RollbackPolicy;
}

export class RevocationDto extends RevokeAgentDto {
  @ApiProperty({
    description: 'Exactly one of: agentIds, labels (all must match), owner, all',
    oneOf: [...SELECTOR_SCHEMAS],
    example: { labels: { team: 'infra' } },
  })
  @Allow()
  @Validate(SelectorConstraint)
  selector!: Selector;

  @ApiPropertyOptional({ description: 'Answer how many agents would be hit; change nothing' })
  @Optional()
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun?: boolean;
}

export class IncidentIdParams {
  @ApiProperty({ description: 'An incident id', example: 'inc_3f9a1c2b4d5e6f70' })
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

/** The agents a selector picked: what a stop and its dry run both answer. */
class SelectionDto {
  @ApiProperty({ type: 'integer', description: 'How many selected agents exist' })
  agents!: number;

  @ApiProperty({ type: [String], example: ['agt_3f9a1c2b4d5e6f70'] })
  agentIds!: string[];

  @ApiProperty({ type: [String], description: 'Of agentIds, those revoked before this stop' })
  alreadyRevokedIds!: string[];

  @ApiProperty({ type: [String], description: "Selected ids that are no agent's" })
  missingIds!: string[];
}

/** What a stop answers once every selected agent is fenced (all of `agents` are, now). */
export class RevocationResultDto extends SelectionDto {
  @ApiProperty({
    example: 'inc_3f9a1c2b4d5e6f70',
    description: 'Its incident; for a stop that fenced nothing, the latest that did',
  })
  incidentId!: string;

  @ApiProperty({ format: 'date-time', description: 'When the agents were fenced' })
  revokedAt!: string;
}

/** One agent's stop: the bulk answer, then this agent's own fields. */
export class AgentRevocationDto extends RevocationResultDto {
  @ApiProperty({ example: 'agt_3f9a1c2b4d5e6f70' }) agentId!: string;
  @ApiProperty({ enum: ['revoked'] }) status!: 'revoked';
  @ApiProperty({ type: 'integer', description: 'The epoch it was fenced at', example: 2 })
  epoch!: number;
  @ApiProperty({ example: 'deleting mail it should archive' }) reason!: string;
  @ApiProperty({ description: 'It was revoked before: nothing changed' })
  alreadyRevoked!: boolean;
}

/** A bulk stop with `dryRun: true`: who it would hit; nothing changed. */
export class DryRunDto extends SelectionDto {
  @ApiProperty({ enum: [true] }) dryRun!: true;
  @ApiProperty({
    type: 'integer',
    description: 'How many agents the stop would fence: `agents` less those already revoked',
    example: 999,
  })
  wouldRevoke!: number;
}

export class ActorDto {
  @ApiProperty({ example: 'usr_3f9a1c2b4d5e6f70' }) userId!: string;
  @ApiProperty({ example: 'Dana' }) name!: string;
  @ApiProperty({ enum: ROLES }) role!: string;
}

export class OriginDto {
  @ApiProperty({
    description: 'api, cli, device, or what X-Killswitch-Client said',
    example: 'api',
  })
  via!: string;
  @ApiPropertyOptional({
    description: 'A stop from a paired phone: which',
    example: 'dev_3f9a1c2b4d5e6f70',
  })
  deviceId?: string;
  @ApiPropertyOptional({ example: "Dana's phone" }) deviceName?: string;
}

export class IncidentCountsDto {
  @ApiProperty({ type: 'integer', description: 'Agents this stop fenced itself' }) fenced!: number;
  @ApiProperty({ type: 'integer' }) halted!: number;
  @ApiProperty({ type: 'integer' }) aborted!: number;
  @ApiProperty({ type: 'integer' }) rolledBack!: number;
  @ApiProperty({ type: 'integer' }) needsReview!: number;
}

export class IncidentProgressDto {
  @ApiProperty({ type: 'integer', description: 'Agents whose follow-up is finished' })
  done!: number;
  @ApiProperty({ type: 'integer', description: 'Agents this incident fenced' }) total!: number;
}

export class ReviewItemDto {
  @ApiPropertyOptional({ description: 'Absent: the item is about the whole incident' })
  agentId?: string;
  @ApiPropertyOptional() actionId?: string;
  @ApiPropertyOptional({ example: 'mail.send' }) type?: string;
  @ApiProperty({ example: 'irreversible: it cannot be rolled back' }) why!: string;
}

export class TimelineEntryDto {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ description: 'A person as "Name (usr_…)", or killswitch for follow-up work' })
  actor!: string;
  @ApiPropertyOptional({ example: "device: Dana's phone" }) via?: string;
  @ApiProperty({
    description: 'revoke, fence, halt, abort, rollback, follow-up, reinstate, resolve',
    example: 'revoke',
  })
  step!: string;
  @ApiProperty({ example: 'requested' }) outcome!: string;
  @ApiPropertyOptional() detail?: string;
  @ApiPropertyOptional() agentId?: string;
  @ApiPropertyOptional() actionId?: string;
}

/** An incident as lists show it: without its long lists. */
export class IncidentSummaryDto {
  @ApiProperty({ example: 'inc_3f9a1c2b4d5e6f70' }) id!: string;
  @ApiProperty({ enum: ['open', 'following_up', 'done', 'resolved'] }) status!: string;
  @ApiProperty({ example: 'runaway' }) reason!: string;
  @ApiProperty({ type: ActorDto }) openedBy!: ActorDto;
  @ApiProperty({ type: OriginDto }) openedFrom!: OriginDto;
  @ApiProperty({ format: 'date-time' }) openedAt!: string;
  @ApiProperty({ oneOf: ROLLBACK_SCHEMAS, example: 'epoch' }) rollback!: RollbackPolicy;
  @ApiProperty({ type: 'integer', description: 'How many agents the stop selected' })
  agents!: number;
  @ApiProperty({ type: IncidentCountsDto }) counts!: IncidentCountsDto;
  @ApiProperty({ type: IncidentProgressDto }) progress!: IncidentProgressDto;
  @ApiPropertyOptional({ format: 'date-time', description: 'When its follow-up finished' })
  doneAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) resolvedAt?: string;
  @ApiPropertyOptional({ type: ActorDto }) resolvedBy?: ActorDto;
  @ApiPropertyOptional({ description: 'The resolution note' }) note?: string;
}

export class IncidentDto extends IncidentSummaryDto {
  @ApiProperty({ type: [String], description: 'All of them, or the first ?agents=N' })
  agentIds!: string[];
  @ApiProperty({ type: [ReviewItemDto], description: 'All of it, or the first ?review=N' })
  needsReview!: ReviewItemDto[];
  @ApiProperty({ type: 'integer' }) reviewTotal!: number;
  @ApiProperty({
    type: [TimelineEntryDto],
    description: 'Oldest first: all of it, or the newest ?timeline=N',
  })
  timeline!: TimelineEntryDto[];
  @ApiProperty({ type: 'integer' }) timelineTotal!: number;
}

export class IncidentPageDto {
  @ApiProperty({ type: [IncidentSummaryDto] }) items!: IncidentSummaryDto[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The next page's ?cursor=; null on the last page",
  })
  nextCursor!: string | null;
}

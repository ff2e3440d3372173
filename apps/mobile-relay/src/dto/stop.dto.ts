import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { Equals, Matches, Validate } from 'class-validator';
import { AGENT_ID } from '@app/agents';
// Optional: a field sent as null is sent, and wrong (`{agentId: null, mine: true}` is not mine).
import { Optional, Text, validateInput } from '@app/core';
import {
  SELECTOR_SCHEMAS,
  SELECTOR_SHAPES,
  SelectorConstraint,
  type Selector,
} from '@app/revocation';

const TARGETS = ['agentId', 'mine', 'selector'] as const;

/**
 * A phone's `stop` (socket event, or POST /v1/stop): exactly one of agentId, mine and selector,
 * checked by the same rules as the API's bodies, on both transports.
 */
export class StopDto {
  @ApiPropertyOptional({ example: 'agt_3f9a1c2b4d5e6f70', description: 'Stop this agent' })
  @Optional()
  @Matches(AGENT_ID, { message: 'agentId must be an agent id such as agt_3f9a1c2b4d5e6f70' })
  agentId?: string;

  @ApiPropertyOptional({ enum: [true], description: 'Stop every agent you own' })
  @Optional()
  @Equals(true, { message: 'mine must be true (or not sent)' })
  mine?: true;

  @ApiPropertyOptional({
    oneOf: [...SELECTOR_SCHEMAS],
    example: { labels: { team: 'infra' } },
    description: `Responders and admins: ${SELECTOR_SHAPES}`,
  })
  @Optional()
  @Validate(SelectorConstraint)
  selector?: Selector;

  @ApiPropertyOptional({
    example: 'sending mail it should not',
    description: 'Kept trimmed; "stopped from <device name>" when not sent',
  })
  @Optional()
  // Like the API's reason, but judged trimmed: the relay keeps it trimmed.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @Text('reason', { max: 500, multiline: true })
  reason?: string;

  @ApiProperty({
    example: '6f1c2a4e-0d1b-4c8e-9a57-3b2f9e0c7d15',
    description: 'Unique per tap, the same when the stop is sent again: answered once',
  })
  @Matches(/^[\w.:-]{1,100}$/, {
    message: 'requestId is required: a unique id per tap (letters, digits, -_.:)',
  })
  requestId!: string;
}

/** A stop carried out (or one already answered under its requestId): the ack's `ok: true`. */
export class StopAckDto {
  @ApiProperty({ enum: [true] }) ok!: true;
  @ApiProperty({ example: 'inc_3f9a1c2b4d5e6f70' }) incidentId!: string;
  @ApiProperty({ format: 'date-time' }) revokedAt!: string;

  @ApiProperty({
    type: 'integer',
    example: 3,
    description: 'The agents now stopped, those that were already stopped included',
  })
  agents!: number;

  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'How many of them were already stopped',
  })
  alreadyRevoked!: number;
}

/** A stop that passed validation: what to stop is exactly one of the three. */
export type Stop = { reason?: string; requestId: string } & (
  { agentId: string } | { mine: true } | { selector: Selector }
);

/** Reads a phone's stop, or says everything that is wrong with it. */
export function readStop(body: unknown): { stop: Stop } | { problem: string } {
  const checked = validateInput(StopDto, body, 'a stop');
  const problems = 'problem' in checked ? [checked.problem] : [];
  // Counted on what was sent, not on what passed: `{agentId: [..], mine: true}` has two.
  const targets =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? TARGETS.filter((name) => (body as Record<string, unknown>)[name] !== undefined)
      : undefined;
  if (targets?.length === 0) {
    problems.push(
      `send {agentId}, {mine: true} or {selector}, where selector is ${SELECTOR_SHAPES}`,
    );
  } else if (targets && targets.length > 1) {
    problems.push(`send only one of agentId, mine and selector, not ${targets.join(' and ')}`);
  }
  if (problems.length > 0 || 'problem' in checked) {
    return { problem: problems.join('; ') };
  }
  const { agentId, mine, selector, reason, requestId } = checked.value;
  const target =
    agentId !== undefined ? { agentId } : mine ? { mine } : { selector: selector as Selector };
  return { stop: { ...target, requestId, ...(reason === undefined ? {} : { reason }) } };
}

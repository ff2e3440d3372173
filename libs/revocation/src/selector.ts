import type { SchemaObject } from '@nestjs/swagger';
import {
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { AGENT_ID, isLabels } from '@app/agents';
import { USER_ID } from '@app/auth';
import { closedSchema } from '@app/core';

/** Which agents a revocation hits. */
export type Selector =
  { agentIds: string[] } | { labels: Record<string, string> } | { owner: string } | { all: true };

/** Exactly one of the four shapes, well formed; the one check for every transport. */
export function isSelector(value: unknown): value is Selector {
  return selectorProblem(value) === undefined;
}

/** What is wrong with a selector, said for the part that is wrong; undefined if nothing. */
export function selectorProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `selector must be ${SELECTOR_SHAPES}`;
  }
  const v = value as Record<string, unknown>;
  if (Object.keys(v).length !== 1) {
    return `selector must be ${SELECTOR_SHAPES}`;
  }
  if ('agentIds' in v) {
    const ids = v.agentIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100_000) {
      return 'selector.agentIds must list from 1 to 100000 agent ids';
    }
    const bad: unknown = (ids as unknown[]).find(
      (id) => typeof id !== 'string' || !AGENT_ID.test(id),
    );
    return bad === undefined
      ? undefined
      : `selector.agentIds must be agent ids such as agt_3f9a1c2b4d5e6f70 (got ${String(JSON.stringify(bad)).slice(0, 60)})`;
  }
  if ('labels' in v) {
    return isLabels(v.labels, 1)
      ? undefined
      : 'selector.labels must hold 1 to 20 labels such as {"team": "infra"}, with the characters ' +
          'labels allow';
  }
  if ('owner' in v) {
    return typeof v.owner === 'string' && USER_ID.test(v.owner)
      ? undefined
      : 'selector.owner must be a user id such as usr_3f9a1c2b4d5e6f70';
  }
  return v.all === true ? undefined : `selector must be ${SELECTOR_SHAPES}`;
}

export const SELECTOR_SHAPES =
  'exactly one of {agentIds: ["agt_…"]}, {labels: {key: "value"}}, {owner: "usr_…"}, {all: true}';

/** The four shapes as OpenAPI schemas, for the `oneOf` of a DTO's selector (API and relay). */
export const SELECTOR_SCHEMAS: readonly SchemaObject[] = [
  closedSchema({ agentIds: { type: 'array', items: { type: 'string' }, minItems: 1 } }),
  closedSchema({ labels: { type: 'object', additionalProperties: { type: 'string' } } }),
  closedSchema({ owner: { type: 'string', example: 'usr_3f9a1c2b4d5e6f70' } }),
  closedSchema({ all: { type: 'boolean', enum: [true] } }),
];

/** {@link selectorProblem} for DTOs (`@Validate(SelectorConstraint)`): the API's and the relay's. */
@ValidatorConstraint({ name: 'selector' })
export class SelectorConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return isSelector(value);
  }

  defaultMessage(args?: ValidationArguments): string {
    return selectorProblem(args?.value) ?? `selector must be ${SELECTOR_SHAPES}`;
  }
}

export function describeSelector(selector: Selector): string {
  if ('agentIds' in selector) {
    return selector.agentIds.length === 1
      ? `agent ${selector.agentIds[0]}`
      : `${selector.agentIds.length} listed agents`;
  }
  if ('labels' in selector) {
    return `agents labelled ${Object.entries(selector.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`;
  }
  if ('owner' in selector) {
    return `agents owned by ${selector.owner}`;
  }
  return 'all agents';
}

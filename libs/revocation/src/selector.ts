import { AGENT_ID, isLabels } from '@app/agents';
import { USER_ID } from '@app/auth';

/** Which agents a revocation hits. */
export type Selector =
  { agentIds: string[] } | { labels: Record<string, string> } | { owner: string } | { all: true };

/** Exactly one of the four shapes, well formed; the one check for every transport. */
export function isSelector(value: unknown): value is Selector {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const v = value as Record<string, unknown>;
  if (Object.keys(v).length !== 1) {
    return false;
  }
  if ('agentIds' in v) {
    return (
      Array.isArray(v.agentIds) &&
      v.agentIds.length > 0 &&
      v.agentIds.length <= 100_000 &&
      v.agentIds.every((id) => typeof id === 'string' && AGENT_ID.test(id))
    );
  }
  if ('labels' in v) {
    return isLabels(v.labels, 1);
  }
  if ('owner' in v) {
    return typeof v.owner === 'string' && USER_ID.test(v.owner);
  }
  return v.all === true;
}

export const SELECTOR_SHAPES =
  'exactly one of {agentIds: ["agt_…"]}, {labels: {key: "value"}}, {owner: "usr_…"}, {all: true}';

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

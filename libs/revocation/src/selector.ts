/** Which agents a revocation hits. */
export type Selector =
  { agentIds: string[] } | { labels: Record<string, string> } | { owner: string } | { all: true };

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

import type { Incident } from './incident';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A report a responder can paste into a post-mortem. */
export function renderIncidentMarkdown(incident: Incident): string {
  const { counts } = incident;
  const from = incident.openedFrom.deviceName
    ? `${incident.openedFrom.via} (${incident.openedFrom.deviceName}, ${incident.openedFrom.deviceId})`
    : incident.openedFrom.via;
  const lines = [
    `# Incident ${incident.id}`,
    '',
    `- **Status:** ${incident.status}`,
    `- **Reason:** ${incident.reason}`,
    `- **Opened:** ${incident.openedAt} by ${incident.openedBy.name} (${incident.openedBy.userId}, ${incident.openedBy.role}) from ${from}`,
    `- **Agents:** ${incident.agents} selected, ${counts.fenced} fenced`,
    `- **Rollback:** ${typeof incident.rollback === 'string' ? incident.rollback : `since ${incident.rollback.since}`}`,
    `- **Outcome:** ${counts.halted} queued actions halted, ${counts.aborted} aborted, ${counts.rolledBack} rolled back, ${counts.needsReview} need review`,
  ];
  if (incident.resolvedAt) {
    lines.push(
      `- **Resolved:** ${incident.resolvedAt} by ${incident.resolvedBy?.name ?? '?'}: ${incident.note ?? ''}`,
    );
  }
  lines.push('', '## Needs review', '');
  if (incident.needsReview.length === 0) {
    lines.push('Nothing: everything that could be undone was undone.');
  } else {
    lines.push('| Agent | Action | Type | Why |', '| --- | --- | --- | --- |');
    for (const item of incident.needsReview) {
      lines.push(
        `| ${item.agentId ?? 'all'} | ${item.actionId ?? ''} | ${item.type ?? ''} | ${cell(item.why)} |`,
      );
    }
  }
  lines.push(
    '',
    '## Timeline',
    '',
    '| Time (UTC) | Who | Step | Outcome | Detail |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const entry of incident.timeline) {
    const subject = [entry.agentId, entry.actionId].filter(Boolean).join(' ');
    const detail = [subject, entry.detail].filter(Boolean).join(': ');
    lines.push(
      `| ${entry.at} | ${cell(entry.actor)}${entry.via ? ` via ${entry.via}` : ''} | ${entry.step} | ${cell(entry.outcome)} | ${cell(detail)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

import { CONTROL_CHARACTERS } from '@app/core';
import type { Incident } from './incident';

const CONTROLS = new RegExp(CONTROL_CHARACTERS.source, 'g');

/**
 * Text someone typed (a reason, a note, a name) or built from it, kept on its line and shown as
 * typed: line breaks become spaces, control characters go, and what Markdown or HTML would read
 * as markup is escaped (a table's `|`, links, tags, entities, code, emphasis). A reason could
 * otherwise start a section of its own, or open an HTML comment that hides the rest of the report.
 */
const text = (value: string) =>
  value
    .replace(/[\r\n]+/g, ' ')
    .replace(CONTROLS, '')
    .replace(/[\\`[\]<>&|*~]/g, '\\$&')
    // Emphasis: an underscore inside a word (agt_1, usr_…) is no markup, and stays as it is.
    .replace(/_(?![A-Za-z0-9])|(?<![A-Za-z0-9])_/g, '\\_');

/** A report a responder can paste into a post-mortem. */
export function renderIncidentMarkdown(incident: Incident): string {
  const { counts } = incident;
  const { via, deviceName, deviceId } = incident.openedFrom;
  const from = text(deviceName ? `${via} (${deviceName}, ${deviceId ?? ''})` : via);
  const { openedBy } = incident;
  const lines = [
    `# Incident ${incident.id}`,
    '',
    `- **Status:** ${incident.status}`,
    `- **Reason:** ${text(incident.reason)}`,
    `- **Opened:** ${incident.openedAt} by ${text(openedBy.name)} (${openedBy.userId}, ${openedBy.role}) from ${from}`,
    `- **Agents:** ${incident.agents} selected, ${counts.fenced} fenced`,
    `- **Rollback:** ${typeof incident.rollback === 'string' ? incident.rollback : `since ${text(incident.rollback.since)}`}`,
    `- **Outcome:** ${counts.halted} queued actions halted, ${counts.aborted} aborted, ${counts.rolledBack} rolled back, ${counts.needsReview} need review`,
  ];
  if (incident.resolvedAt) {
    lines.push(
      `- **Resolved:** ${incident.resolvedAt} by ${text(incident.resolvedBy?.name ?? '?')}: ${text(incident.note ?? '')}`,
    );
  }
  lines.push('', '## Needs review', '');
  if (incident.needsReview.length === 0) {
    lines.push('Nothing: everything that could be undone was undone.');
  } else {
    lines.push('| Agent | Action | Type | Why |', '| --- | --- | --- | --- |');
    for (const item of incident.needsReview) {
      lines.push(
        `| ${item.agentId ?? 'all'} | ${item.actionId ?? ''} | ${item.type ?? ''} | ${text(item.why)} |`,
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
      `| ${entry.at} | ${text(entry.actor)}${entry.via ? ` via ${text(entry.via)}` : ''} | ${entry.step} | ${text(entry.outcome)} | ${text(detail)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

import { Agent, Incident, IncidentSummary, TimelineEntry } from './types';

/** How many timeline entries the incident summary shows. */
export const TIMELINE_TAIL = 20;
/** How many review items the incident summary shows. */
export const REVIEW_HEAD = 20;

/**
 * The incident as the summary reads it: its newest timeline entries and first review items
 * only, since an incident of thousands of agents holds megabytes of both, and none of its agent
 * ids, which it does not show (their number comes with the incident).
 */
export function incidentPath(id: string): string {
  return `/v1/incidents/${encodeURIComponent(id)}?timeline=${TIMELINE_TAIL}&review=${REVIEW_HEAD}&agents=0`;
}

/**
 * Server text (reasons, names, tool errors) made safe for a terminal: control characters,
 * escape sequences included, could otherwise rewrite the screen.
 */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

/** As {@link clean}, but keeps line breaks and tabs (for Markdown reports). */
export function cleanKeepingLines(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, ' ');
}

/** "2026-03-01T12:00:01.123Z" -> "2026-03-01 12:00:01Z"; anything unparseable as is. */
export function formatTime(iso: string | undefined): string {
  if (!iso) {
    return '-';
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return clean(iso);
  }
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Time of a timeline entry: "12:00:01.123Z", with the date when it is not `day`'s. */
function formatTimelineTime(iso: string, day: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return clean(iso);
  }
  const full = date.toISOString();
  const time = `${full.slice(11, 23)}Z`;
  return full.slice(0, 10) === day ? time : `${full.slice(0, 10)} ${time}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A plain text table: a header row, then one row per item, columns padded to their widest
 * cell. Numbers are right-aligned.
 */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((row) => row.map((cell) => clean(String(cell))));
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...cells.map((row) => row[i]?.length ?? 0)),
  );
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'),
  );
  const line = (row: string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

export function agentsTable(agents: Agent[]): string {
  return table(
    ['ID', 'NAME', 'OWNER', 'STATUS', 'EPOCH', 'LABELS'],
    agents.map((a) => [
      a.id,
      truncate(a.name, 40),
      a.owner,
      a.status,
      a.epoch,
      formatLabels(a.labels),
    ]),
  );
}

/** "phone (Dana's iPhone)", "cli", "api". */
export function formatFrom(from: Incident['openedFrom'] | undefined): string {
  if (!from) {
    return '-';
  }
  const device = from.deviceName ?? from.deviceId;
  return device ? `${from.via} (${device})` : from.via;
}

export function incidentsTable(incidents: IncidentSummary[]): string {
  return table(
    [
      'ID',
      'STATUS',
      'OPENED AT',
      'BY',
      'FROM',
      'AGENTS',
      'HALTED',
      'ABORTED',
      'ROLLED BACK',
      'NEEDS REVIEW',
      'REASON',
    ],
    incidents.map((i) => [
      i.id,
      i.status,
      formatTime(i.openedAt),
      i.openedBy.name,
      formatFrom(i.openedFrom),
      i.agents,
      i.counts.halted,
      i.counts.aborted,
      i.counts.rolledBack,
      i.counts.needsReview,
      truncate(i.reason, 50),
    ]),
  );
}

function timelineLine(entry: TimelineEntry, day: string): string {
  const who = entry.via ? `${entry.actor} via ${entry.via}` : entry.actor;
  const subject = [entry.agentId, entry.actionId].filter(Boolean).join(' ');
  const parts = [
    formatTimelineTime(entry.at, day),
    who,
    entry.step,
    entry.outcome,
    subject,
    entry.detail ? `- ${entry.detail}` : '',
  ];
  return `  ${clean(parts.filter(Boolean).join('  '))}`;
}

/** The incident as a responder reads it: counts, what needs review, the latest timeline. */
export function incidentSummary(incident: Incident, tail = TIMELINE_TAIL): string {
  const counts = incident.counts;
  const by = `${incident.openedBy.name} (${incident.openedBy.role}, ${incident.openedBy.userId})`;
  const lines = [
    `Incident ${incident.id}: ${incident.status}`,
    `  Reason:    ${incident.reason}`,
    `  Opened:    ${formatTime(incident.openedAt)} by ${by} from ${formatFrom(incident.openedFrom)}`,
    `  Agents:    ${incident.agents} (follow-up ${incident.progress.done}/${incident.progress.total} done)`,
    `  Fenced ${counts.fenced}, halted ${counts.halted}, aborted ${counts.aborted}, rolled back ${counts.rolledBack}, needs review ${counts.needsReview}`,
  ];
  const rollback = incident.rollback;
  lines.push(
    `  Rollback:  ${typeof rollback === 'string' ? rollback : `actions since ${formatTime(rollback.since)}`}`,
  );
  if (incident.doneAt) {
    lines.push(`  Done:      ${formatTime(incident.doneAt)}`);
  }
  if (incident.resolvedAt) {
    const resolver = incident.resolvedBy;
    const by = resolver ? ` by ${resolver.name} (${resolver.userId})` : '';
    lines.push(`  Resolved:  ${formatTime(incident.resolvedAt)}${by}`);
  }
  if (incident.note) {
    lines.push(`  Note:      ${incident.note}`);
  }
  const review = incident.needsReview;
  // The server may have sent only the first items; it says how many there are in all.
  const reviewTotal = Math.max(incident.reviewTotal ?? 0, review.length);
  if (review.length > 0) {
    lines.push(
      '',
      review.length < reviewTotal
        ? `Needs review (first ${review.length} of ${reviewTotal}):`
        : `Needs review (${reviewTotal}):`,
    );
    for (const item of review) {
      const subject = [item.agentId ?? 'all agents', item.actionId, item.type]
        .filter(Boolean)
        .join('  ');
      lines.push(`  ${subject}  - ${item.why}`);
    }
    if (review.length < reviewTotal) {
      lines.push(`  All of them: killswitch incident ${incident.id} --md (or --json)`);
    }
  }
  const timeline = incident.timeline ?? [];
  // The server may have sent only the newest entries; it says how many there are in all.
  const total = Math.max(incident.timelineTotal ?? 0, timeline.length);
  if (timeline.length > 0) {
    const shown = timeline.slice(-tail);
    const opened = new Date(incident.openedAt);
    const day = Number.isNaN(opened.getTime()) ? '' : opened.toISOString().slice(0, 10);
    lines.push(
      '',
      shown.length < total
        ? `Timeline (last ${shown.length} of ${total}):`
        : `Timeline (${total}):`,
      ...shown.map((entry) => timelineLine(entry, day)),
    );
  }
  return lines.map((line) => clean(line)).join('\n');
}

import { clean } from './format';
import { Incident } from './types';

const BAR_WIDTH = 24;
const SHORT_BAR_WIDTH = 8;

/** The counts line shown beside the bar: "halted 2, aborted 1, rolled back 0, needs review 0". */
export function countsText(incident: Incident): string {
  const c = incident.counts;
  if (!c) {
    return '';
  }
  return `halted ${c.halted}, aborted ${c.aborted}, rolled back ${c.rolledBack}, needs review ${c.needsReview}`;
}

/** The counts in few words, for a narrow terminal: "halted 2 aborted 1 undone 0 review 0". */
function shortCounts(incident: Incident): string {
  const c = incident.counts;
  return c
    ? `halted ${c.halted} aborted ${c.aborted} undone ${c.rolledBack} review ${c.needsReview}`
    : '';
}

/** "[#########---------------]" for done out of total. */
export function bar(done: number, total: number, width = BAR_WIDTH): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/**
 * The live progress of an incident's follow-up, on stderr so stdout stays clean for pipes.
 * On a terminal one line is redrawn in place; elsewhere (CI logs, files) a line is written
 * only when something changed, so logs stay readable.
 */
export class ProgressBar {
  private lastLine = '';
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  ) {}

  update(incident: Incident, note = ''): void {
    const { done, total } = incident.progress;
    // The counts move with each step; the latest step also shows which one is under way (a
    // compensation that takes seconds, say).
    const latest = incident.timeline?.at(-1);
    const step = note ? `- ${note}` : latest ? `- ${latest.step}: ${latest.outcome}` : '';
    const text = clean(
      [`${done}/${total} agents done`, countsText(incident), `(${incident.status})`, step]
        .filter(Boolean)
        .join('  '),
    );
    if (this.stream.isTTY) {
      const width = (this.stream.columns ?? 80) - 1;
      // On a narrow terminal: shorter words, then a shorter bar, before the latest step is cut.
      const compact = clean(
        [`${done}/${total}`, shortCounts(incident), step].filter(Boolean).join('  '),
      );
      const narrowest = `${bar(done, total, SHORT_BAR_WIDTH)} ${compact}`;
      const line =
        [`${bar(done, total)} ${text}`, `${bar(done, total)} ${compact}`].find(
          (candidate) => candidate.length <= width,
        ) ?? narrowest;
      this.stream.write(`\r\x1b[2K${line.length > width ? line.slice(0, width) : line}`);
      this.drawn = true;
    } else if (text !== this.lastLine) {
      this.stream.write(`${incident.id}: ${text}\n`);
    }
    this.lastLine = text;
  }

  /** Clears the bar so what follows starts on a clean line. */
  stop(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}

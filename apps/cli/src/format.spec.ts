import { InvalidArgumentError } from 'commander';
import { clean, formatTime, incidentPath, incidentSummary, table } from './format';
import { parseRollback } from './program';
import { bar, ProgressBar } from './progress';
import { Incident } from './types';

/** An incident of one agent, done, with nothing on it; `fields` change what a test is about. */
const anIncident = (fields: Partial<Incident> = {}): Incident => ({
  id: 'inc_0000000000000001',
  status: 'done',
  reason: 'test',
  rollback: 'epoch',
  openedBy: { userId: 'usr_1', name: 'Dana', role: 'responder' },
  openedFrom: { via: 'cli' },
  openedAt: '2026-03-01T12:00:00.000Z',
  agents: 1,
  agentIds: ['agt_1'],
  counts: { fenced: 1, halted: 0, aborted: 0, rolledBack: 0, needsReview: 0 },
  progress: { done: 1, total: 1 },
  needsReview: [],
  reviewTotal: 0,
  timeline: [],
  timelineTotal: 0,
  ...fields,
});

describe('CLI formatting', () => {
  it('strips control characters and escape sequences from server text', () => {
    expect(clean('ok\u001b[2J\u0007 done\nnext')).toBe('ok [2J  done next');
  });

  it('pads columns and right-aligns numbers', () => {
    expect(
      table(
        ['ID', 'N'],
        [
          ['a', 1],
          ['bbb', 22],
        ],
      ),
    ).toBe('ID    N\na     1\nbbb  22');
  });

  it('shows times to the second in UTC, and unparseable ones as given', () => {
    expect(formatTime('2026-03-01T12:00:01.123Z')).toBe('2026-03-01 12:00:01Z');
    expect(formatTime('soon')).toBe('soon');
    expect(formatTime(undefined)).toBe('-');
  });

  it('draws a bar in proportion, even for an empty incident', () => {
    expect(bar(1, 2, 4)).toBe('[##--]');
    expect(bar(0, 0, 4)).toBe('[----]');
    expect(bar(5, 2, 4)).toBe('[####]');
  });

  it("shows a follow-up's latest step beside its counts, a line per change off a terminal", () => {
    const written: string[] = [];
    const progress = new ProgressBar({
      write: (chunk: string) => written.push(chunk) > 0,
    } as unknown as NodeJS.WritableStream);
    const incident = (steps: string[]): Incident =>
      anIncident({
        status: 'following_up',
        progress: { done: 0, total: 1 },
        timelineTotal: steps.length,
        timeline: steps.map((step) => ({
          at: '2026-03-01T12:00:00.000Z',
          actor: 'killswitch',
          step,
          outcome: `${step} done`,
        })),
      });
    progress.update(incident(['fence', 'halt']));
    progress.update(incident(['fence', 'halt']));
    progress.update(incident(['fence', 'halt', 'rollback']));
    progress.update(incident(['fence', 'halt', 'rollback']), 'retrying: 503');
    expect(written).toEqual([
      'inc_0000000000000001: 0/1 agents done  halted 0, aborted 0, rolled back 0, needs review 0  (following_up)  - halt: halt done\n',
      'inc_0000000000000001: 0/1 agents done  halted 0, aborted 0, rolled back 0, needs review 0  (following_up)  - rollback: rollback done\n',
      'inc_0000000000000001: 0/1 agents done  halted 0, aborted 0, rolled back 0, needs review 0  (following_up)  - retrying: 503\n',
    ]);
  });

  it('fits the latest step on an 80-column terminal, in fewer words', () => {
    const written: string[] = [];
    const progress = new ProgressBar({
      isTTY: true,
      columns: 80,
      write: (chunk: string) => written.push(chunk) > 0,
    } as unknown as NodeJS.WritableStream);
    const at = '2026-03-01T12:00:00.000Z';
    progress.update(
      anIncident({
        status: 'following_up',
        progress: { done: 0, total: 1 },
        counts: { fenced: 1, halted: 50, aborted: 1, rolledBack: 5, needsReview: 2 },
        timelineTotal: 1,
        timeline: [{ at, actor: 'killswitch', step: 'rollback', outcome: 'rolled back' }],
      }),
    );
    const line = written[0].replace('\r\x1b[2K', '');
    expect(line).toBe(
      '[--------] 0/1  halted 50 aborted 1 undone 5 review 2  - rollback: rolled back',
    );
    expect(line.length).toBeLessThan(80);
    // A wide terminal keeps the words in full.
    written.length = 0;
    const wide = new ProgressBar({
      isTTY: true,
      columns: 200,
      write: (chunk: string) => written.push(chunk) > 0,
    } as unknown as NodeJS.WritableStream);
    wide.update(
      anIncident({
        status: 'following_up',
        progress: { done: 0, total: 1 },
        timelineTotal: 1,
        timeline: [{ at, actor: 'killswitch', step: 'rollback', outcome: 'rolled back' }],
      }),
    );
    expect(written[0]).toContain('0/1 agents done  halted 0, aborted 0, rolled back 0');
    expect(written[0]).toContain('(following_up)  - rollback: rolled back');
  });

  it('keeps only the last timeline entries in the summary', () => {
    const incident = anIncident({
      openedFrom: { via: 'phone', deviceName: 'Pixel' },
      counts: { fenced: 1, halted: 0, aborted: 1, rolledBack: 0, needsReview: 1 },
      needsReview: [
        { agentId: 'agt_1', actionId: 'act_1', type: 'email.send', why: 'not reversible' },
      ],
      timelineTotal: 30,
      reviewTotal: 1,
      timeline: Array.from({ length: 30 }, (_, i) => ({
        at: `2026-03-01T12:00:${String(i).padStart(2, '0')}.000Z`,
        actor: 'killswitch',
        step: `step-${i}`,
        outcome: 'ok',
      })),
    });
    const summary = incidentSummary(incident, 20);
    expect(summary).toContain('from phone (Pixel)');
    expect(summary).toContain('agt_1  act_1  email.send  - not reversible');
    expect(summary).toContain('Timeline (last 20 of 30):');
    expect(summary).not.toContain('step-9 ');
    expect(summary).toContain('12:00:29.000Z  killswitch  step-29  ok');
    // The server sent only the newest entries: the count is the whole timeline's.
    const tail = incidentSummary({ ...incident, timeline: incident.timeline.slice(-20) }, 20);
    expect(tail).toContain('Timeline (last 20 of 30):');
    expect(tail).toContain('12:00:29.000Z  killswitch  step-29  ok');
    // A review item for the whole incident (its fan-out gave up) has no agent.
    const whole = incidentSummary({ ...incident, needsReview: [{ why: 'fan-out gave up' }] }, 20);
    expect(whole).toContain('  all agents  - fan-out gave up');
    expect(summary).toContain('Needs review (1):');
    // The server sent only the first review items: the count is the whole list's.
    const head = incidentSummary({ ...incident, reviewTotal: 4000 }, 20);
    expect(head).toContain('Needs review (first 1 of 4000):');
    expect(head).toContain(
      'All of them: killswitch incident inc_0000000000000001 --md (or --json)',
    );
    expect(summary).not.toContain('All of them');
  });

  it('reads for the summary only what it shows: no agent ids, only their number', () => {
    expect(incidentPath('inc_0000000000000001')).toBe(
      '/v1/incidents/inc_0000000000000001?timeline=20&review=20&agents=0',
    );
    const incident = anIncident({
      agents: 10_000,
      agentIds: [],
      counts: { fenced: 10_000, halted: 0, aborted: 0, rolledBack: 0, needsReview: 0 },
      progress: { done: 10_000, total: 10_000 },
    });
    expect(incidentSummary(incident)).toContain('  Agents:    10000 (follow-up 10000/10000 done)');
  });
});

describe('--rollback', () => {
  it('accepts none, epoch and an ISO time', () => {
    expect(parseRollback('none')).toBe('none');
    expect(parseRollback('epoch')).toBe('epoch');
    expect(parseRollback('2026-03-01T12:00:00+01:00')).toEqual({
      since: '2026-03-01T11:00:00.000Z',
    });
  });

  it.each(['soon', '1700000000', ''])('refuses %j', (value) => {
    expect(() => parseRollback(value)).toThrow(InvalidArgumentError);
  });
});

import type { Incident } from './incident';
import { renderIncidentMarkdown } from './incident.markdown';

const incident: Incident = {
  id: 'inc_0000000000000001',
  status: 'done',
  reason: 'runaway | loop',
  openedBy: { userId: 'usr_0000000000000001', name: 'Dana', role: 'owner' },
  openedFrom: { via: 'device', deviceId: 'dev_1', deviceName: "Dana's phone" },
  openedAt: '2026-11-26T15:01:02.345Z',
  rollback: 'epoch',
  agents: 2,
  agentIds: ['agt_1', 'agt_2'],
  counts: { fenced: 2, halted: 50, aborted: 1, rolledBack: 5, needsReview: 2 },
  progress: { done: 2, total: 2 },
  needsReview: [
    { agentId: 'agt_1', actionId: 'act_1', type: 'mail.send', why: 'irreversible' },
    { why: 'the follow-up gave up | check by hand' },
  ],
  timeline: [
    {
      at: '2026-11-26T15:01:02.345Z',
      actor: 'Dana (usr_0000000000000001)',
      via: "device: Dana's phone",
      step: 'revoke',
      outcome: 'requested',
      agentId: 'agt_1',
    },
  ],
  timelineTotal: 1,
  reviewTotal: 1,
};

describe('renderIncidentMarkdown', () => {
  const report = renderIncidentMarkdown(incident);

  it('sums the incident up: who, from where, what was done', () => {
    expect(report).toContain('# Incident inc_0000000000000001');
    expect(report).toContain("from device (Dana's phone, dev_1)");
    expect(report).toContain('- **Agents:** 2 selected, 2 fenced');
    expect(report).toContain('50 queued actions halted, 1 aborted, 5 rolled back, 2 need review');
  });

  it('lists what needs review, a whole-incident item under "all", with table cells escaped', () => {
    expect(report).toContain('| agt_1 | act_1 | mail.send | irreversible |');
    expect(report).toContain('| all |  |  | the follow-up gave up \\| check by hand |');
  });
});

describe('renderIncidentMarkdown with text made to look like markup', () => {
  const forged =
    'cleanup\n\n## Needs review\n\nNothing: everything that could be undone was undone.\n\n<!--';
  const report = renderIncidentMarkdown({
    ...incident,
    reason: forged,
    openedFrom: { via: 'device', deviceId: 'dev_1', deviceName: 'ph|one\u001b[31m\u202e' },
    resolvedAt: '2026-11-26T16:00:00.000Z',
    resolvedBy: { userId: 'usr_0000000000000001', name: '<b>Dana</b>', role: 'owner' },
    note: 'see [the doc](http://x) & `more`\r\nsecond line',
    timeline: [{ ...incident.timeline[0], via: 'device: ph|one' }],
  });
  const lines = report.split('\n');

  it('keeps a reason on its line: it cannot open a section or hide the rest', () => {
    expect(lines.filter((line) => line.startsWith('## '))).toEqual([
      '## Needs review',
      '## Timeline',
    ]);
    expect(report).toContain(
      '- **Reason:** cleanup ## Needs review Nothing: everything that could be undone was undone. \\<!--',
    );
    expect(report).not.toMatch(/(^|[^\\])<!--/);
  });

  it('escapes links, tags, entities, code and table bars, and drops control characters', () => {
    expect(report).toContain('from device (ph\\|one\\[31m, dev_1)');
    expect(report).toContain(
      'by \\<b\\>Dana\\</b\\>: see \\[the doc\\](http://x) \\& \\`more\\` second line',
    );
    expect(report).toContain('| Dana (usr_0000000000000001) via device: ph\\|one | revoke |');
  });

  it('escapes emphasis, but not the underscore inside an id', () => {
    const emphasis = renderIncidentMarkdown({
      ...incident,
      reason: '*bold* _slanted_ ~~gone~~ **strong** __strong__ in agt_1 and snake_case',
    });
    expect(emphasis).toContain(
      '- **Reason:** \\*bold\\* \\_slanted\\_ \\~\\~gone\\~\\~ \\*\\*strong\\*\\* \\_\\_strong\\_\\_ in agt_1 and snake_case',
    );
  });
});

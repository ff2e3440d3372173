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

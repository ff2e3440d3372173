import { Action, ActionStatus, lastRunEnd } from './action';

describe('lastRunEnd', () => {
  const action = (status: ActionStatus, ...history: ActionStatus[]): Action => ({
    id: 'act_0000000000000001_0000000000000001',
    agentId: 'agt_0000000000000001',
    type: 'mail.archive',
    params: {},
    status,
    epoch: 1,
    seq: 1,
    attempts: 1,
    submittedAt: '2026-11-27T00:00:00.000Z',
    history: history.map((s) => ({ status: s, at: '2026-11-27T00:00:00.000Z' })),
  });

  it('answers how its last run ended, not what it became since', () => {
    expect(lastRunEnd(action('aborted', 'queued', 'running', 'aborted'))).toBe('aborted');
    expect(lastRunEnd(action('rolled_back', 'queued', 'running', 'succeeded', 'rolled_back'))).toBe(
      'succeeded',
    );
    expect(lastRunEnd(action('halted', 'queued', 'running', 'retrying', 'halted'))).toBe(
      'retrying',
    );
    expect(lastRunEnd(action('failed', 'queued', 'running', 'retrying', 'running', 'failed'))).toBe(
      'failed',
    );
  });

  it('answers nothing while it runs, and its status if it never ran', () => {
    expect(lastRunEnd(action('running', 'queued', 'running'))).toBeUndefined();
    expect(
      lastRunEnd(action('running', 'queued', 'running', 'retrying', 'running')),
    ).toBeUndefined();
    expect(lastRunEnd(action('halted', 'queued', 'halted'))).toBe('halted');
  });
});

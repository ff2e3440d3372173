import type { AgentsService } from '@app/agents';
import type { UserPrincipal } from '@app/auth';
import type { IncidentsRepository, StoredEntry } from '@app/incidents';
import type { AgentNotifier, LeaseRevokedEvent } from '@app/realtime';
import type { FenceResult, RevocationRepository } from './revocation.repository';
import type { RevocationQueue } from './revocation.queue';
import { RevocationAnswer, RevocationService } from './revocation.service';

const responder: UserPrincipal = {
  kind: 'user',
  userId: 'usr_0000000000000001',
  name: 'R',
  role: 'responder',
  via: 'api',
};

/** The fence's answer for an agent another incident revoked before. */
const REVOKED_EARLIER: FenceResult = {
  kind: 'already',
  epoch: 2,
  revokedAt: 1_800_000_000_000,
  reason: 'earlier',
  incidentId: 'inc_ffffffffffffffff',
  owner: 'usr_0000000000000002',
};

/** A service over fakes at the repository boundary; `fence` decides each agent's outcome. */
function serviceWith(
  fence: (agentId: string, incidentId: string) => FenceResult,
  { takenOver = false } = {},
) {
  const pushed: LeaseRevokedEvent[] = [];
  const discarded: string[] = [];
  const queued: string[] = [];
  const entries: (StoredEntry | undefined)[] = [];
  const service = new RevocationService(
    { anyExists: () => Promise.resolve(true) } as unknown as AgentsService,
    {
      fenceMany: (ids: string[], _reason: string, _by: string, incidentId: string) =>
        Promise.resolve(new Map(ids.map((id) => [id, fence(id, incidentId)]))),
      markUnconfirmed: () => Promise.resolve(),
      confirm: () => Promise.resolve(),
    } as unknown as RevocationRepository,
    {
      create: () => Promise.resolve(),
      append: () => Promise.resolve(),
      // A fan-out took the incident over before the call recorded it: the call may not.
      setFenced: (
        _id: string,
        _selected: string[],
        _fenced: unknown,
        options: { entry?: StoredEntry },
      ) => {
        entries.push(options.entry);
        return Promise.resolve(!takenOver);
      },
      discard: (incidentId: string) => Promise.resolve(discarded.push(incidentId) > 0),
      announce: () => Promise.resolve(),
      indexForOwners: () => Promise.resolve(),
    } as unknown as IncidentsRepository,
    {
      followIncident: (incidentId: string) => Promise.resolve(queued.push(incidentId)),
      followAgents: (_incidentId: string, agents: { agentId: string }[]) =>
        Promise.resolve(queued.push(...agents.map((a) => a.agentId))),
    } as unknown as RevocationQueue,
    { leaseRevoked: (event: LeaseRevokedEvent) => pushed.push(event) } as unknown as AgentNotifier,
  );
  return { service, pushed, discarded, queued, entries };
}

const revoke = (service: RevocationService, agentIds: string[]) =>
  service.revoke(responder, {
    selector: { agentIds },
    reason: 'test',
  }) as Promise<RevocationAnswer>;

describe('RevocationService.revoke', () => {
  it('pushes to agents its own follow-up job fenced first (the job can start before the call fences)', async () => {
    const { service, pushed } = serviceWith((_, incidentId) => ({
      kind: 'already',
      epoch: 2,
      revokedAt: 1_800_000_000_000,
      reason: 'test',
      incidentId,
      owner: 'usr_0000000000000002',
    }));
    const answer = await revoke(service, ['agt_0000000000000001']);
    expect(pushed).toEqual([
      expect.objectContaining({ agentId: 'agt_0000000000000001', incidentId: answer.incidentId }),
    ]);
    expect(answer.alreadyRevokedIds).toEqual([]);
  });

  it('does not push to agents another incident revoked, and answers with that incident', async () => {
    const { service, pushed, discarded } = serviceWith(() => REVOKED_EARLIER);
    const answer = await revoke(service, ['agt_0000000000000001']);
    expect(pushed).toEqual([]);
    expect(answer.alreadyRevokedIds).toEqual(['agt_0000000000000001']);
    // It fenced nothing: the incident it opened is removed, the earlier one named.
    expect(answer.incidentId).toBe('inc_ffffffffffffffff');
    expect(discarded).toHaveLength(1);
    expect(discarded[0]).not.toBe('inc_ffffffffffffffff');
  });

  it('pushes to newly fenced agents and lists unknown ones as missing', async () => {
    const { service, pushed } = serviceWith((id) =>
      id.endsWith('2')
        ? { kind: 'missing' }
        : {
            kind: 'revoked',
            epoch: 2,
            revokedAt: 1_800_000_000_000,
            owner: 'usr_0000000000000002',
          },
    );
    const answer = await revoke(service, ['agt_0000000000000001', 'agt_0000000000000002']);
    expect(pushed.map((p) => p.agentId)).toEqual(['agt_0000000000000001']);
    expect(answer).toMatchObject({ agents: 1, missingIds: ['agt_0000000000000002'] });
  });

  it('queues nothing when a fan-out took its incident over first: the fan-out follows it up', async () => {
    const revoked: FenceResult = {
      kind: 'revoked',
      epoch: 2,
      revokedAt: 1_800_000_000_000,
      owner: 'usr_0000000000000002',
    };
    const alone = serviceWith(() => revoked);
    await revoke(alone.service, ['agt_0000000000000001']);
    expect(alone.queued).toEqual(['agt_0000000000000001']);

    const overtaken = serviceWith(() => revoked, { takenOver: true });
    const answer = await revoke(overtaken.service, ['agt_0000000000000001']);
    // Still answered: the agent is fenced.
    expect(answer).toMatchObject({ agents: 1, agentIds: ['agt_0000000000000001'] });
    expect(overtaken.queued).toEqual([]);
  });

  it('says on the fence entry how many of the selected agents were revoked already', async () => {
    const fenced = (already: string[]) =>
      serviceWith((id) =>
        already.includes(id)
          ? REVOKED_EARLIER
          : {
              kind: 'revoked',
              epoch: 2,
              revokedAt: 1_800_000_000_000,
              owner: 'usr_0000000000000002',
            },
      );
    const ids = ['agt_0000000000000001', 'agt_0000000000000002', 'agt_0000000000000003'];

    const one = fenced(ids.slice(1, 2));
    await revoke(one.service, ids.slice(0, 2));
    expect(one.entries).toEqual([
      expect.objectContaining({
        step: 'fence',
        detail: expect.stringMatching(/; 1 was already revoked$/),
      }),
    ]);

    const two = fenced(ids.slice(1));
    await revoke(two.service, ids);
    expect(two.entries).toEqual([
      expect.objectContaining({
        step: 'fence',
        detail: expect.stringMatching(/; 2 were already revoked$/),
      }),
    ]);
  });
});

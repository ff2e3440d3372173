import { Logger } from '@nestjs/common';
import type { ActionsRepository } from '@app/actions';
import { AgentsService } from '@app/agents';
import type { Agent, AgentsRepository } from '@app/agents';
import type { UsersService } from '@app/auth';
import type { IncidentsRepository, IncidentsService } from '@app/incidents';
import { FeedService } from './feed.service';

const agentNamed = (id: string): Agent => ({
  id,
  name: id,
  owner: `usr_of_${id}`,
  labels: {},
  allowedActions: [],
  status: 'revoked',
  epoch: 2,
  createdAt: '2026-11-27T00:00:00.000Z',
});

/**
 * A FeedService over agents kept in a map (every id not in it is an agent of its own, unless
 * `only`), recording each batch of agent reads.
 */
function feedOver(
  agents = new Map<string, Agent>(),
  { only = false, fail }: { only?: boolean; fail?: Error } = {},
) {
  const reads: string[][] = [];
  const repository = {
    getMany: (ids: string[]) => {
      reads.push(ids);
      if (fail) {
        return Promise.reject(fail);
      }
      return Promise.resolve(
        ids.map((id) => agents.get(id) ?? (only ? undefined : agentNamed(id))),
      );
    },
  } as unknown as AgentsRepository;
  const feed = new FeedService(
    new AgentsService(repository),
    {} as ActionsRepository,
    {} as IncidentsService,
    {} as IncidentsRepository,
    {} as UsersService,
  );
  return { feed, reads };
}

const ids = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('FeedService agent reads', () => {
  it('reads the agents of events that come together in one batch, each as it is now', async () => {
    const agents = new Map(['a', 'b', 'c'].map((id) => [id, agentNamed(id)]));
    const { feed, reads } = feedOver(agents);

    const views = await Promise.all(['a', 'b', 'c', 'a'].map((id) => feed.agent(id)));

    expect(reads).toEqual([['a', 'b', 'c', 'a']]);
    expect(views.map((view) => view?.id)).toEqual(['a', 'b', 'c', 'a']);
    agents.set('a', { ...agentNamed('a'), status: 'active', epoch: 3 });
    expect(await feed.agent('a')).toMatchObject({ status: 'active', epoch: 3 });
    expect(reads).toHaveLength(2);
  });

  it('sends at most 500 agents per read', async () => {
    const { feed, reads } = feedOver();
    const views = await Promise.all(ids(1200, 'a').map((id) => feed.agent(id)));
    expect(reads.map((batch) => batch.length)).toEqual([500, 500, 200]);
    expect(views.every((view, i) => view?.id === `a${i}`)).toBe(true);
  });

  it('answers undefined for an agent that is gone', async () => {
    const { feed } = feedOver(new Map(), { only: true });
    expect(await feed.agent('gone')).toBeUndefined();
  });

  it("remembers the owners it read, and reads an unknown agent's owner with the others", async () => {
    const { feed, reads } = feedOver();
    await feed.agent('a');

    const [owners, more] = await Promise.all([feed.ownersOf(['a', 'b']), feed.ownersOf(['c'])]);

    expect(owners).toEqual(['usr_of_a', 'usr_of_b']);
    expect(more).toEqual(['usr_of_c']);
    expect(reads).toEqual([['a'], ['b', 'c']]);
  });

  it('answers the owners it read even when another batch of the same tick clears the cache', async () => {
    const { feed } = feedOver();
    // The cache just under its bound, as a large stop's agent.updated reads leave it.
    await Promise.all(ids(49_800, 'w').map((id) => feed.agent(id)));

    // One tick: an action.updated of an agent not seen yet and of a known one, then a
    // thousand agent.updated: the third batch clears the cache.
    const owners = feed.ownersOf(['x', 'w7']);
    const others = Promise.all(ids(1000, 'o').map((id) => feed.agent(id)));

    expect(await owners).toEqual(['usr_of_x', 'usr_of_w7']);
    await others;
  });

  it('fails the owners of agents whose read failed, and answers no agent', async () => {
    const { feed } = feedOver(new Map(), { fail: new Error('Redis is away') });
    await expect(feed.ownersOf(['a'])).rejects.toThrow('Redis is away');
    expect(await feed.agent('a')).toBeUndefined();
  });

  it('says so once for a failed batch, not once for each event waiting on it', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const { feed, reads } = feedOver(new Map(), { fail: new Error('Redis is away') });
      const views = await Promise.all(ids(300, 'a').map((id) => feed.agent(id)));
      expect(views.every((view) => view === undefined)).toBe(true);
      expect(reads).toHaveLength(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatchObject({ agents: 300 });
    } finally {
      warn.mockRestore();
    }
  });
});

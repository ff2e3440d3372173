import type { ActionsRepository } from '@app/actions';
import type { Agent, AgentsService } from '@app/agents';
import type { IncidentsRepository, IncidentsService } from '@app/incidents';
import { FeedService } from './feed.service';

const agentNamed = (id: string, owner = `usr_of_${id}`): Agent => ({
  id,
  name: id,
  owner,
  labels: {},
  allowedActions: [],
  status: 'revoked',
  epoch: 2,
  createdAt: '2026-11-27T00:00:00.000Z',
});

/** A FeedService over agents kept in a map, recording each batch of agent reads. */
function feedOver(agents: Map<string, Agent>, findMany?: () => Promise<never>) {
  const reads: string[][] = [];
  const agentsService = {
    findMany:
      findMany ??
      ((ids: string[]) => {
        reads.push(ids);
        return Promise.resolve(ids.map((id) => agents.get(id)));
      }),
  } as unknown as AgentsService;
  const feed = new FeedService(
    agentsService,
    {} as ActionsRepository,
    {} as IncidentsService,
    {} as IncidentsRepository,
  );
  return { feed, reads };
}

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

  it('answers undefined for an agent that is gone', async () => {
    const { feed } = feedOver(new Map());
    expect(await feed.agent('gone')).toBeUndefined();
  });

  it("remembers the owners it read, and reads an unknown agent's owner with the others", async () => {
    const agents = new Map(['a', 'b', 'c'].map((id) => [id, agentNamed(id)]));
    const { feed, reads } = feedOver(agents);
    await feed.agent('a');

    const [owners, more] = await Promise.all([feed.ownersOf(['a', 'b']), feed.ownersOf(['c'])]);

    expect(owners).toEqual(['usr_of_a', 'usr_of_b']);
    expect(more).toEqual(['usr_of_c']);
    expect(reads).toEqual([['a'], ['b', 'c']]);
  });

  it('fails the owners of agents whose read failed', async () => {
    const { feed } = feedOver(new Map(), () => Promise.reject(new Error('Redis is away')));
    await expect(feed.ownersOf(['a'])).rejects.toThrow('Redis is away');
    expect(await feed.agent('a')).toBeUndefined();
  });
});

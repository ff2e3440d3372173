import { Injectable, Logger } from '@nestjs/common';
import DataLoader from 'dataloader';
import { ActionsRepository } from '@app/actions';
import { Agent, AgentsService } from '@app/agents';
import { UsersService, type User, type UserPrincipal } from '@app/auth';
import { IncidentsRepository, IncidentsService } from '@app/incidents';

// A phone shows a screenful: the newest agents and incidents, a few actions each.
const SNAPSHOT_AGENTS = 200;
const RECENT_ACTIONS = 5;
const SNAPSHOT_INCIDENTS = 10;

/** What a phone sees: its snapshot on connect, and the shape of live events. */
@Injectable()
export class FeedService {
  private readonly logger = new Logger(FeedService.name);
  private readonly owners = new Map<string, string>();
  /**
   * Agent reads asked for in the same tick go to Redis as one pipeline: a bulk stop publishes
   * an `agent.updated` per agent, thousands at once, and each relay reads every one of them.
   * Nothing is cached: each event reads the agent as it is now.
   */
  private readonly agentReads = new DataLoader<string, Agent | undefined>(
    async (agentIds) => {
      try {
        const agents = await this.agents.findMany([...agentIds]);
        this.rememberOwners(agents);
        return agents;
      } catch (error) {
        // Said once for the batch, not once for each of the (up to 500) events waiting on it.
        this.logger.warn(
          { err: error, agents: agentIds.length },
          'Could not read agents for live events: their agent.updated events are dropped, ' +
            'and their owners, unless already known, miss their action.updated and ' +
            'incident.updated events (responders and admins still get those)',
        );
        throw error;
      }
    },
    { cache: false, maxBatchSize: 500 },
  );

  constructor(
    private readonly agents: AgentsService,
    private readonly actions: ActionsRepository,
    private readonly incidents: IncidentsService,
    private readonly incidentsRepository: IncidentsRepository,
    private readonly users: UsersService,
  ) {}

  async snapshot(principal: UserPrincipal, user: User, device: { id: string; name: string }) {
    const page = await this.agents.list(principal, { labels: [], limit: SNAPSHOT_AGENTS });
    const agents = await Promise.all(
      page.items.map(async (agent) => ({
        ...this.agentView(agent),
        recentActions: await this.actions.recent(agent.id, RECENT_ACTIONS),
      })),
    );
    const incidents = (await this.incidents.list(principal, { limit: SNAPSHOT_INCIDENTS })).items;
    // Responders and admins see others' agents: by whose name, not only id.
    const others = [...new Set(page.items.map((agent) => agent.owner))].filter(
      (id) => id !== user.id,
    );
    const ownerNames = Object.fromEntries(await this.users.names(others));
    return {
      user: { id: user.id, name: user.name, role: user.role },
      device,
      agents,
      // The page's counts cover what it was sent: it says "at least" when there is more.
      moreAgents: page.nextCursor !== null,
      ownerNames,
      incidents: await Promise.all(incidents.map((i) => this.withAgentIds(i))),
    };
  }

  agentView(agent: Agent) {
    return {
      id: agent.id,
      name: agent.name,
      owner: agent.owner,
      labels: agent.labels,
      status: agent.status,
      epoch: agent.epoch,
      revokedAt: agent.revokedAt,
      revokeReason: agent.revokeReason,
      incidentId: agent.incidentId,
    };
  }

  /** The owners of agents (cached: an agent's owner never changes), read together. */
  async ownersOf(agentIds: string[]): Promise<string[]> {
    // Taken from the cache before the read: another batch may clear the cache meanwhile.
    const owners = new Map<string, string>();
    const missing: string[] = [];
    for (const id of agentIds) {
      const owner = this.owners.get(id);
      if (owner) {
        owners.set(id, owner);
      } else {
        missing.push(id);
      }
    }
    for (const read of await this.agentReads.loadMany(missing)) {
      if (read instanceof Error) {
        throw read;
      }
      if (read) {
        owners.set(read.id, read.owner);
      }
    }
    return agentIds.flatMap((id) => owners.get(id) ?? []);
  }

  async agent(agentId: string) {
    const agent = await this.agentReads.load(agentId).catch(() => undefined);
    return agent ? this.agentView(agent) : undefined;
  }

  private rememberOwners(agents: (Agent | undefined)[]): void {
    if (this.owners.size > 50_000) {
      this.owners.clear();
    }
    for (const agent of agents) {
      if (agent) {
        this.owners.set(agent.id, agent.owner);
      }
    }
  }

  /** The owners of an incident's agents, as far as its follow-up has indexed them. */
  incidentOwners(incidentId: string): Promise<string[]> {
    return this.incidentsRepository.owners(incidentId);
  }

  async incident(incidentId: string) {
    const summary = await this.incidentsRepository.summary(incidentId);
    return summary ? this.withAgentIds(summary) : undefined;
  }

  private async withAgentIds<T extends { id: string }>(incident: T) {
    const agentIds = await this.incidentsRepository.agentIds(incident.id, 50);
    return { ...incident, agentIds };
  }
}

export const userRoom = (userId: string) => `user:${userId}`;
/** Responders and admins see every agent. */
export const ALL_AGENTS_ROOM = 'all-agents';

import { Injectable } from '@nestjs/common';
import { badRequest, forbidden, notFound } from '@app/core';
import { roleAtLeast, UserPrincipal } from '@app/auth';
import { Agent, newAgentId } from './agent';
import { AgentsRepository } from './agents.repository';

export interface NewAgent {
  name: string;
  labels: Record<string, string>;
  allowedActions: string[];
  concurrency?: number;
}

export interface AgentQuery {
  labels: [string, string][];
  status?: Agent['status'];
  owner?: string;
  limit: number;
  cursor?: string;
}

// How many index entries one listing request may read while filtering: bounds the work a
// selective filter can cause, at the price of a short page with a cursor to continue.
const SCAN_BUDGET = 2000;

@Injectable()
export class AgentsService {
  constructor(private readonly agents: AgentsRepository) {}

  async create(principal: UserPrincipal, input: NewAgent): Promise<Agent> {
    const agent: Agent = {
      id: newAgentId(),
      name: input.name,
      owner: principal.userId,
      labels: input.labels,
      allowedActions: [...new Set(input.allowedActions)],
      ...(input.concurrency ? { concurrency: input.concurrency } : {}),
      status: 'active',
      epoch: 1,
      createdAt: new Date().toISOString(),
    };
    await this.agents.create(agent);
    return agent;
  }

  /** Reads an agent the caller may see. */
  async get(principal: UserPrincipal, agentId: string): Promise<Agent> {
    const agent = await this.find(agentId);
    if (!canSeeAll(principal) && agent.owner !== principal.userId) {
      throw forbidden(`Agent ${agentId} belongs to another owner`);
    }
    return agent;
  }

  /** Reads an agent regardless of who asks (internal callers that already authorized). */
  async find(agentId: string): Promise<Agent> {
    const agent = await this.agents.get(agentId);
    if (!agent) {
      throw notFound(`Agent ${agentId}`);
    }
    return agent;
  }

  /** Reads several agents at once; undefined for those that no longer exist. */
  findMany(agentIds: string[]): Promise<(Agent | undefined)[]> {
    return this.agents.getMany(agentIds);
  }

  /** Whether any of these agents exists. */
  anyExists(agentIds: string[]): Promise<boolean> {
    return this.agents.anyExists(agentIds);
  }

  /** Loads an agent the caller may manage: its owner, or an admin. */
  async getManaged(principal: UserPrincipal, agentId: string): Promise<Agent> {
    const agent = await this.find(agentId);
    if (agent.owner !== principal.userId && principal.role !== 'admin') {
      throw forbidden(`Only the owner of agent ${agentId} or an admin may do this`);
    }
    return agent;
  }

  /** Drops an agent its stop's delete script removed from the agents' indexes. */
  async unindex(agent: Agent): Promise<void> {
    await this.agents.unindex(agent);
  }

  async list(
    principal: UserPrincipal,
    query: AgentQuery,
  ): Promise<{ items: Agent[]; nextCursor: string | null }> {
    // Owners and viewers only ever list their own agents, whatever filter they pass.
    let owner = query.owner;
    if (!canSeeAll(principal)) {
      if (owner && owner !== principal.userId) {
        return { items: [], nextCursor: null };
      }
      owner = principal.userId;
    }
    const items: Agent[] = [];
    let after = query.cursor;
    let scanned = 0;
    while (items.length < query.limit && scanned < SCAN_BUDGET) {
      const want = Math.min(Math.max(query.limit * 2, 50), SCAN_BUDGET - scanned);
      const { ids, members } = await this.agents.page(owner, after, want);
      if (ids.length === 0) {
        return { items, nextCursor: null };
      }
      const agents = await this.agents.getMany(ids);
      for (let i = 0; i < agents.length; i++) {
        scanned++;
        after = members[i];
        const agent = agents[i];
        if (agent && matches(agent, query)) {
          items.push(agent);
          if (items.length === query.limit) {
            break;
          }
        }
      }
      if (ids.length < want && items.length < query.limit) {
        return { items, nextCursor: null };
      }
    }
    // A full page that took the index's last member is the last one: no cursor to an empty page.
    const more = after !== undefined && (await this.agents.page(owner, after, 1)).ids.length > 0;
    return { items, nextCursor: more && after !== undefined ? after : null };
  }

  /** Ids of every agent one user owns. */
  async idsOwnedBy(userId: string): Promise<string[]> {
    return this.agents.allIds(userId);
  }

  /** Ids of every agent. */
  async allIds(): Promise<string[]> {
    return this.agents.allIds();
  }

  /** Agent ids carrying all the given labels (for bulk revocation). */
  async idsWithLabels(labels: [string, string][]): Promise<string[]> {
    if (labels.length === 0) {
      throw badRequest('At least one label is needed');
    }
    const [first, ...rest] = await Promise.all(
      labels.map(([k, v]) => this.agents.labelMembers(k, v)),
    );
    // Sets, not arrays: 10,000 agents under two labels would otherwise take seconds.
    const others = rest.map((ids) => new Set(ids));
    return first.filter((id) => others.every((set) => set.has(id)));
  }
}

export function canSeeAll(principal: UserPrincipal): boolean {
  return roleAtLeast(principal.role, 'responder');
}

function matches(agent: Agent, query: AgentQuery): boolean {
  if (query.status && agent.status !== query.status) {
    return false;
  }
  return query.labels.every(([key, value]) => agent.labels[key] === value);
}

import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Namespace } from 'socket.io';
import { AppConfig } from '@app/config';
import { closeConnection, connectOrExplain, RedisService } from '@app/redis';
import { EventThrottle } from './event-throttle';
import { ALL_AGENTS_ROOM, FeedService, userRoom } from './feed.service';

interface StatusEvent {
  event: 'action.updated' | 'agent.updated' | 'incident.updated';
  agentId?: string;
  incidentId?: string;
  [field: string]: unknown;
}

// Bulk revocations raise thousands of incident events; a phone needs a few per second.
const INCIDENT_EVENT_EVERY_MS = 250;

// And one action event per halted action: a phone gets at most this many per window, the
// newest of each action when there are more. The page lists the newest 50 (FEED_SIZE).
const ACTION_EVENTS_PER_WINDOW = 50;
const ACTION_EVENT_WINDOW_MS = 250;

/** Who gets an action's event: responders and admins, or an owner's phones but theirs. */
type Audience = typeof ALL_AGENTS_ROOM | `owner:${string}`;

/**
 * Turns the deployment's status events (Redis pub/sub, raised by whichever instance changed
 * something) into socket events for the phones connected here. Every relay instance receives
 * every event and emits it to its own sockets only, so nothing is delivered twice.
 */
@Injectable()
export class RelayEvents implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RelayEvents.name);
  private subscriber?: Redis;
  private namespace?: Namespace;
  private readonly pendingIncidents = new Map<string, NodeJS.Timeout>();
  private readonly actionEvents = new EventThrottle<Record<string, unknown>, Audience>(
    ACTION_EVENTS_PER_WINDOW,
    ACTION_EVENT_WINDOW_MS,
    (audience, event) => this.emitAction(audience, event),
    (event, held) => Date.parse(String(event.at)) < Date.parse(String(held.at)),
  );

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    private readonly feed: FeedService,
  ) {}

  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.duplicate('subscriber', 'relay-events');
    await connectOrExplain(this.subscriber, this.config.redisUrl);
    this.subscriber.on('message', (_channel: string, message: string) => {
      this.route(message).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'Could not forward a status event'),
      );
    });
    await this.subscriber.subscribe(this.redis.keys.events());
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.pendingIncidents.values()) {
      clearTimeout(timer);
    }
    if (this.subscriber) {
      await closeConnection(this.subscriber);
    }
    // After the subscriber: an event still coming in would open a window again.
    this.actionEvents.clear();
  }

  private async route(message: string): Promise<void> {
    const nsp = this.namespace;
    if (!nsp) {
      return;
    }
    const event = JSON.parse(message) as StatusEvent;
    switch (event.event) {
      case 'action.updated': {
        const { event: _name, ...payload } = event;
        const at = typeof payload.at === 'number' ? new Date(payload.at).toISOString() : payload.at;
        await this.actionUpdated(event.agentId, { ...payload, at });
        return;
      }
      case 'agent.updated': {
        const agent = event.agentId ? await this.feed.agent(event.agentId) : undefined;
        if (agent) {
          this.emitToWatchers(agent.owner, 'agent.updated', agent);
        }
        return;
      }
      case 'incident.updated':
        if (event.incidentId) {
          this.scheduleIncident(event.incidentId);
        }
        return;
    }
  }

  private async actionUpdated(agentId: string | undefined, payload: Record<string, unknown>) {
    if (!agentId) {
      return;
    }
    // An owner that could not be read (the feed logs it, once per batch): responders and
    // admins, who watch every agent, are still told.
    const owner = await this.feed.ownersOf([agentId]).then(
      ([known]) => known,
      () => undefined,
    );
    const key = String(payload.actionId);
    this.actionEvents.push(ALL_AGENTS_ROOM, key, payload);
    if (owner) {
      this.actionEvents.push(`owner:${owner}`, key, payload);
    }
  }

  private emitAction(audience: Audience, event: Record<string, unknown>): void {
    const sockets =
      audience === ALL_AGENTS_ROOM
        ? this.namespace?.local.to(ALL_AGENTS_ROOM)
        : // A responder or admin owning agents is told once, as a watcher of every agent.
          this.namespace?.local
            .to(userRoom(audience.slice('owner:'.length)))
            .except(ALL_AGENTS_ROOM);
    sockets?.emit('action.updated', event);
  }

  /** Responders and admins, and the agent's owner (when known). */
  private emitToWatchers(owner: string | undefined, name: string, payload: unknown): void {
    const rooms = owner ? [ALL_AGENTS_ROOM, userRoom(owner)] : [ALL_AGENTS_ROOM];
    this.namespace?.local.to(rooms).emit(name, payload);
  }

  private scheduleIncident(incidentId: string): void {
    if (this.pendingIncidents.has(incidentId)) {
      return;
    }
    const timer = setTimeout(() => {
      this.pendingIncidents.delete(incidentId);
      void this.emitIncident(incidentId).catch((error: unknown) =>
        this.logger.warn({ err: error, incidentId }, 'Could not forward an incident update'),
      );
    }, INCIDENT_EVENT_EVERY_MS);
    timer.unref();
    this.pendingIncidents.set(incidentId, timer);
  }

  private async emitIncident(incidentId: string): Promise<void> {
    const incident = await this.feed.incident(incidentId);
    if (!incident || !this.namespace) {
      return;
    }
    // Owners indexed so far (each agent's follow-up indexes its owner), and those of the first
    // agents, so that a bulk stop reaches owners before its follow-up has come to them.
    const [indexed, firstOwners] = await Promise.all([
      this.feed.incidentOwners(incidentId),
      // Unreadable (the feed logs it): the others are still told.
      this.feed.ownersOf(incident.agentIds).catch(() => []),
    ]);
    const owners = [...indexed, ...firstOwners];
    const rooms = new Set([ALL_AGENTS_ROOM, userRoom(incident.openedBy.userId)]);
    for (const owner of owners) {
      rooms.add(userRoom(owner));
    }
    this.namespace.local.to([...rooms]).emit('incident.updated', incident);
  }
}

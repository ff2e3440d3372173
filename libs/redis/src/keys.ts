/**
 * The Redis key schema: every key killswitch writes, one line each, built here and nowhere else.
 *
 * Every key starts with the deployment's KEY_PREFIX, so that tests, benchmarks and several
 * deployments can share one Redis. Keys that a Lua script or MULTI touches together share one
 * `{hash tag}`, so the schema is laid out for Redis Cluster, with three exceptions flagged
 * `allow-cross-slot-keys` (on a Cluster they need their keys on one node): the bulk fence
 * (fence-agents.lua), which batches many agents and, for a fan-out, reads its incident; and
 * reinstate-agent.lua and delete-agent.lua, which read the incident of the agent's stop
 * (stop-state.lua; reinstating also writes that incident's timeline, in its slot). The hash tags:
 * - `{auth}`: users, API keys and devices, with what pairing a device takes (codes, failed
 *   attempts per address): small, rarely written; one slot keeps user creation and pairing atomic.
 * - `{agt_…}` (the agent id itself): an agent, its leases and its actions, so that a heartbeat,
 *   a submission or an action's start is one Lua script on one slot.
 * Indexes that span agents (listing, labels, owners) live outside any agent's slot and are
 * written before the agent itself, so a crash leaves at worst an index entry to skip.
 *
 * | key                                   | type   | holds                                          |
 * | ------------------------------------- | ------ | ---------------------------------------------- |
 * | `<p>:{auth}:user:<userId>`            | hash   | id, name, role, createdAt                      |
 * | `<p>:{auth}:users`                    | zset   | userId scored by creation time (ms)            |
 * | `<p>:{auth}:admins`                   | set    | userIds whose role is admin (bootstrap check)  |
 * | `<p>:{auth}:apikey:<sha256>`          | hash   | userId, createdAt of one live API key          |
 * | `<p>:{auth}:user:<userId>:apikeys`    | set    | sha256 of each live API key of the user        |
 * | `<p>:{auth}:pairing:<sha256>`         | string | userId waiting to pair a device with the code of that SHA-256 (expires, single use; the code itself is never stored) |
 * | `<p>:{auth}:device:<sha256>`          | hash   | deviceId, userId, name, createdAt of one live device token |
 * | `<p>:{auth}:user:<userId>:devices`    | hash   | deviceId → sha256 of its token                  |
 * | `<p>:{auth}:user:<userId>:pairing-codes` | zset | sha256 of the user's live pairing codes (at most 5; a sixth retires the oldest), scored by when each was made (ms, in order), so that revoking the user's devices voids them; expired ones are dropped as a code is added, used ones as they pair; lives as long as its longest-lived code |
 * | `<p>:{auth}:pair-failures:<ip>`       | string | failed pairing attempts from one address (15 min window from the first), checked and counted by the pairing attempt itself |
 * | `<p>:stop-request:<deviceId>:<requestId>` | string | a device's stop, so a resend never stops twice (24 h): its answer (JSON), or while a delivery carries it out `pending <token> <incidentId> <lease until, ms>` (a 30 s lease: a resend takes over a lapsed one, and answers with that incident if it exists) |
 * | `<p>:{<agentId>}:agent`               | hash   | id, name, owner, labels, allowedActions (JSON), concurrency, status, epoch, createdAt, actionSeq, revokedAt/revokeReason/revokedBy/incidentId, reinstatedAt/reinstateReason/reinstatedBy, stoppedBy:<epoch> (the incident that revoked that epoch) |
 * | `<p>:{<agentId>}:leases`              | zset   | sha256 of each lease token, scored by when its record may be forgotten (ms) |
 * | `<p>:{<agentId>}:lease:<sha256>`      | hash   | leaseId, epoch, issuedAt, expiresAt, maxExpiresAt, ttlMs (ms); revokedAt, revokeReason, incidentId once marked revoked |
 * | `<p>:agents`                          | zset   | `<createdAt ms, 15 digits>:<agentId>`, all scores 0 (lexicographic paging) |
 * | `<p>:owner:<userId>:agents`           | zset   | same members, the agents one user owns          |
 * | `<p>:label:<key>=<value>`             | set    | agentIds carrying that label                    |
 * | `<p>:{<agentId>}:action:<actionId>`   | hash   | one action: type, params, status, epoch, seq, attempts, runner (the job that runs it), result, undo, error, released (what its end, or its halt at start, released), haltReleased (released by a follow-up's halt: its job is the follow-up's to add), times |
 * | `<p>:{<agentId>}:action:<actionId>:history` | list | JSON `{status, at, detail?}` per status change, oldest first |
 * | `<p>:{<agentId>}:actions`             | zset   | actionIds scored by submission sequence (the agent's ledger order) |
 * | `<p>:{<agentId>}:pending`             | list   | actionIds queued but not yet released to the worker queue, in order |
 * | `<p>:{<agentId>}:running`             | set    | actionIds released to the worker queue and not finished (at most the agent's concurrency) |
 * | `<p>:{<agentId>}:idem:<key>`          | string | actionId first submitted with that idempotency key (24 h) |
 * | `<p>:action-types`                    | hash   | action type → JSON definition (executor, reversible, compensation) |
 * | `<p>:gate:unconfirmed`                | zset   | `<agentId>|<actionId>` submitted but whose queue job is not yet confirmed, scored by when to re-check (ms) |
 * | `<p>:revocation:unconfirmed`          | zset   | JSON of a stop written just before its fence (one agent: agent, incident, who, why; bulk: the incident), removed once its incident and follow-up exist; scored by when the sweeper may finish it (ms) |
 * | `<p>:{<agentId>}:followup:<incidentId>` | hash | what one incident's follow-up did to the agent: halted, aborted, rolledBack (exact counters); `abort:<actionId>` → when it last asked that running action to abort (ms, the follow-up's clock) |
 * | `<p>:{<incidentId>}:incident`         | hash   | id, status, reason, openedBy, openedFrom, openedAt, rollback policy, agents (those that exist), selected (the ids its stop selected: up to 100, its call tells the agents), total, done, counts, resolution (forcedFrom: the status an admin forced it from); takenOver once a fan-out took it over from its call; gaveUpAt once its fan-out gave up |
 * | `<p>:{<incidentId>}:agents`           | string | the agent ids the revocation selected, space-separated (one piece: cheap at 10,000) |
 * | `<p>:{<incidentId>}:owners`           | set    | the owners of the incident's agents indexed so far (live feeds tell them) |
 * | `<p>:{<incidentId>}:fenced`           | string | the epoch each selected agent was revoked at, space-separated in the order of `agents` (`-`: not fenced by this incident), written once its call has fenced them (a single stop: as it opens) |
 * | `<p>:{<incidentId>}:timeline`         | list   | JSON `{at, actor, via, step, outcome, detail?, agentId?, actionId?}`, oldest first |
 * | `<p>:{<incidentId>}:review`           | list   | JSON `{agentId?, actionId?, type?, why}`: what could not be undone (no agentId: the whole incident) |
 * | `<p>:{<incidentId>}:reported`         | set    | agents whose follow-up has been counted (makes reporting exactly-once)      |
 * | `<p>:{<incidentId>}:progress`         | hash   | agentId → the counts (`halted aborted rolledBack`) already added for an agent still following up |
 * | `<p>:{<incidentId>}:recorded`         | hash   | the follow-up steps already on the timeline, so that a resumed follow-up records each once: `a:<actionId>` (an abort), `r:<actionId>` (a rollback) → 1; `h:<agentId>` → how many of the agent's halts (its follow-up record's `halted`, which a halt at an action's start moves too) are |
 * | `<p>:{<incidentId>}:discarded`        | string | tombstone of an incident its call fenced nothing with and removed (1 day)   |
 * | `<p>:incidents`                       | zset   | incident ids scored by opening time (ms)                                    |
 * | `<p>:owner:<userId>:incidents`        | zset   | incidents that involve the user's agents, scored by opening time           |
 * | `<p>:{bull}:actions:*`                | BullMQ | the action queue (BullMQ's own keys, one hash tag)       |
 * | `<p>:{bull}:revocation:*`             | BullMQ | durable revocation follow-up (fan-out, halt, abort, roll back, report) |
 * | `<p>:events` (pub/sub channel)        | —      | JSON status events: action.updated, agent.updated, incident.updated |
 * | `<p>:control` (pub/sub channel)       | —      | JSON messages to every worker process: `{abort: actionId, incidentId}`, `{typeChanged: type}` |
 */
export class Keys {
  constructor(readonly prefix: string) {}

  user(userId: string): string {
    return `${this.prefix}:{auth}:user:${userId}`;
  }

  users(): string {
    return `${this.prefix}:{auth}:users`;
  }

  admins(): string {
    return `${this.prefix}:{auth}:admins`;
  }

  apiKey(hash: string): string {
    return `${this.prefix}:{auth}:apikey:${hash}`;
  }

  userApiKeys(userId: string): string {
    return `${this.prefix}:{auth}:user:${userId}:apikeys`;
  }

  pairingCode(codeHash: string): string {
    return `${this.prefix}:{auth}:pairing:${codeHash}`;
  }

  // pair-device.lua builds this key and userDevices' itself, from the user's key and the id it
  // reads from the code: change all three together.
  userPairingCodes(userId: string): string {
    return `${this.prefix}:{auth}:user:${userId}:pairing-codes`;
  }

  device(tokenHash: string): string {
    return `${this.prefix}:{auth}:device:${tokenHash}`;
  }

  userDevices(userId: string): string {
    return `${this.prefix}:{auth}:user:${userId}:devices`;
  }

  pairFailures(address: string): string {
    return `${this.prefix}:{auth}:pair-failures:${address}`;
  }

  stopRequest(deviceId: string, requestId: string): string {
    return `${this.prefix}:stop-request:${deviceId}:${requestId}`;
  }

  agent(agentId: string): string {
    return `${this.prefix}:{${agentId}}:agent`;
  }

  agentLeases(agentId: string): string {
    return `${this.prefix}:{${agentId}}:leases`;
  }

  lease(agentId: string, tokenHash: string): string {
    return `${this.prefix}:{${agentId}}:lease:${tokenHash}`;
  }

  agentsIndex(): string {
    return `${this.prefix}:agents`;
  }

  ownerAgents(userId: string): string {
    return `${this.prefix}:owner:${userId}:agents`;
  }

  labelAgents(key: string, value: string): string {
    return `${this.prefix}:label:${key}=${value}`;
  }

  action(agentId: string, actionId: string): string {
    return `${this.prefix}:{${agentId}}:action:${actionId}`;
  }

  actionHistory(agentId: string, actionId: string): string {
    return `${this.prefix}:{${agentId}}:action:${actionId}:history`;
  }

  agentActions(agentId: string): string {
    return `${this.prefix}:{${agentId}}:actions`;
  }

  agentPending(agentId: string): string {
    return `${this.prefix}:{${agentId}}:pending`;
  }

  agentRunning(agentId: string): string {
    return `${this.prefix}:{${agentId}}:running`;
  }

  idempotency(agentId: string, key: string): string {
    return `${this.prefix}:{${agentId}}:idem:${key}`;
  }

  agentFollowup(agentId: string, incidentId: string): string {
    return `${this.prefix}:{${agentId}}:followup:${incidentId}`;
  }

  incident(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:incident`;
  }

  incidentAgents(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:agents`;
  }

  incidentOwners(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:owners`;
  }

  incidentFenced(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:fenced`;
  }

  incidentTimeline(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:timeline`;
  }

  incidentReview(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:review`;
  }

  incidentReported(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:reported`;
  }

  incidentProgress(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:progress`;
  }

  incidentRecorded(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:recorded`;
  }

  incidentDiscarded(incidentId: string): string {
    return `${this.prefix}:{${incidentId}}:discarded`;
  }

  incidentsIndex(): string {
    return `${this.prefix}:incidents`;
  }

  ownerIncidents(userId: string): string {
    return `${this.prefix}:owner:${userId}:incidents`;
  }

  actionTypes(): string {
    return `${this.prefix}:action-types`;
  }

  gateUnconfirmed(): string {
    return `${this.prefix}:gate:unconfirmed`;
  }

  revocationUnconfirmed(): string {
    return `${this.prefix}:revocation:unconfirmed`;
  }

  /** Prefix for BullMQ queues; the `{bull}` tag keeps each queue's keys on one slot. */
  bullPrefix(): string {
    return `${this.prefix}:{bull}`;
  }

  /** Pub/sub channel of status events (actions, agents, incidents) for live feeds. */
  events(): string {
    return `${this.prefix}:events`;
  }

  /** Pub/sub channel that tells every worker to abort a running action. */
  control(): string {
    return `${this.prefix}:control`;
  }

  /** Channel/key prefix for the socket.io Redis adapter, so deployments never share rooms. */
  socketIoPrefix(): string {
    return `${this.prefix}:socket.io`;
  }
}

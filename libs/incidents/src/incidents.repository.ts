import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import {
  defineScript,
  execOrThrow,
  Keys,
  RedisService,
  runScript,
  writeEvenIfFull,
} from '@app/redis';
import {
  Actor,
  Incident,
  IncidentViewLimits,
  IncidentStatus,
  IncidentSummary,
  isoMs,
  Origin,
  ReviewItem,
  RollbackPolicy,
  TimelineEntry,
} from './incident';

const script = (name: string) => join(__dirname, 'lua', `${name}.lua`);

/** An agent an incident fenced, and the epoch it was revoked at (its rollback window). */
export interface FencedAgent {
  agentId: string;
  revokedEpoch: number;
}

/** A timeline entry as stored: `at` in epoch milliseconds. */
export type StoredEntry = Omit<TimelineEntry, 'at'> & { at: number };

/**
 * A follow-up step's timeline entry and the key that names the step (one action's abort or
 * rollback): an entry whose key is recorded already is not added again.
 */
export interface StepEntry {
  key: string;
  entry: StoredEntry;
}

/** What one step of an agent's follow-up puts on its incident's timeline. */
export interface FollowupSteps {
  /**
   * Records the agent's halts not on the timeline yet (its `halted` count beyond those that
   * are), as one entry: this one, with an outcome that says how many.
   */
  halts?: Omit<StoredEntry, 'outcome'>;
  entries?: StepEntry[];
  /** What the step found for review, each about one action: listed now, not at the report. */
  review?: ReviewItem[];
}

/** What opens an incident; all of it is known before anything is fenced. */
export interface IncidentOpening {
  id: string;
  reason: string;
  openedBy: Actor;
  openedFrom: Origin;
  openedAt: number;
  rollback: RollbackPolicy;
  agentIds: string[];
}

/** What one incident's follow-up did to one agent: exact totals, kept beside its actions. */
export interface FollowupCounts {
  halted: number;
  aborted: number;
  rolledBack: number;
}

// Far longer than a fan-out's retries: one arriving after a discard finds the tombstone.
const DISCARDED_FOR_SECONDS = 24 * 3600;

const SUMMARY_FIELDS = [
  'id',
  'status',
  'reason',
  'openedBy',
  'openedFrom',
  'openedAt',
  'rollback',
  'agents',
  'total',
  'done',
  'fenced',
  'halted',
  'aborted',
  'rolledBack',
  'needsReview',
  'doneAt',
  'resolvedAt',
  'resolvedBy',
  'note',
] as const;

/** One token per selected agent, aligned with the agents string: a few bytes each. */
function fencedEpochs(selected: string[], fenced: FencedAgent[]): string {
  const epochs = new Map(fenced.map((a) => [a.agentId, a.revokedEpoch]));
  return selected.map((id) => epochs.get(id) ?? '-').join(' ');
}

@Injectable()
export class IncidentsRepository {
  private readonly keys: Keys;

  constructor(private readonly redis: RedisService) {
    this.keys = redis.keys;
    defineScript(redis.client, 'ksReportAgent', script('report-agent'));
    defineScript(redis.client, 'ksAgentProgress', script('agent-progress'));
    defineScript(redis.client, 'ksOpenIncident', script('open-incident'));
    defineScript(redis.client, 'ksDiscardIncident', script('discard-incident'));
    defineScript(redis.client, 'ksTakeOverIncident', script('take-over-incident'));
    defineScript(redis.client, 'ksRecordFenced', script('record-fenced'));
    defineScript(redis.client, 'ksGiveUpIncident', script('give-up-incident'));
    defineScript(redis.client, 'ksResolveIncident', script('resolve-incident'));
  }

  /**
   * Opens an incident, once: a second call with the same id changes nothing and answers false.
   * `owners` are indexed at once (their agents' follow-up indexes them too).
   */
  async create(
    input: IncidentOpening & {
      timeline: StoredEntry[];
      owners?: string[];
      /**
       * Agents already fenced (a single stop), with the epoch each was revoked at: the incident
       * opens as following up, and keeps them as {@link setFenced} would.
       */
      fenced?: FencedAgent[];
    },
  ): Promise<boolean> {
    const k = this.keys;
    const fields: Record<string, string | number> = {
      id: input.id,
      status: input.fenced === undefined ? 'open' : 'following_up',
      reason: input.reason,
      openedBy: JSON.stringify(input.openedBy),
      openedFrom: JSON.stringify(input.openedFrom),
      openedAt: input.openedAt,
      rollback: JSON.stringify(input.rollback),
      agents: input.agentIds.length,
      // Never rewritten (`agents` drops ids of no agent): who tells the agents is decided by it.
      selected: input.agentIds.length,
      total: input.fenced?.length ?? input.agentIds.length,
      done: 0,
      fenced: input.fenced?.length ?? 0,
      halted: 0,
      aborted: 0,
      rolledBack: 0,
      needsReview: 0,
    };
    const opened = runScript<number>(
      this.redis.client,
      'ksOpenIncident',
      [
        k.incident(input.id),
        k.incidentAgents(input.id),
        k.incidentTimeline(input.id),
        k.incidentFenced(input.id),
      ],
      [
        Object.keys(fields).length,
        ...Object.entries(fields).flat(),
        input.agentIds.join(' '),
        input.fenced ? fencedEpochs(input.agentIds, input.fenced) : '',
        ...input.timeline.map((entry) => JSON.stringify(entry)),
      ],
    );
    // The indexes live in other slots: sent alongside, not after, the script.
    const [created] = await Promise.all([
      opened,
      this.index(input.id, input.openedAt),
      this.indexForOwners(input.id, input.openedAt, input.owners ?? []),
    ]);
    return created === 1;
  }

  /**
   * Lists the incident among all incidents (`GET /v1/incidents`); again is a no-op. Its
   * follow-up's fan-out does it again, since the write beside the incident's may have failed.
   */
  async index(incidentId: string, openedAt: number): Promise<void> {
    await writeEvenIfFull(
      this.redis.client,
      'ZADD',
      this.keys.incidentsIndex(),
      openedAt,
      incidentId,
    );
  }

  /**
   * Removes an incident its call fenced nothing with, unless a fan-out has taken it over
   * ({@link takeOver}); answers whether it was removed. Taken off the list first: the list lies
   * in another slot, and a process dying between the two writes must not leave the list naming
   * an incident that is gone (nothing would remove it). Dying there leaves the incident off the
   * list until the sweeper, from the stop's record, lists it again ({@link relist}).
   */
  async discard(incidentId: string, openedAt: number): Promise<boolean> {
    const k = this.keys;
    await this.redis.client.zrem(k.incidentsIndex(), incidentId);
    const removed = await runScript<number>(
      this.redis.client,
      'ksDiscardIncident',
      [
        k.incident(incidentId),
        k.incidentAgents(incidentId),
        k.incidentTimeline(incidentId),
        k.incidentDiscarded(incidentId),
      ],
      [DISCARDED_FOR_SECONDS],
    );
    if (removed !== 1) {
      await this.index(incidentId, openedAt);
    }
    return removed === 1;
  }

  /**
   * A fan-out takes over an incident still `open`, so that its call neither discards nor
   * records it: `recorded` if the call recorded it first.
   */
  takeOver(incidentId: string): Promise<'ok' | 'recorded' | 'discarded' | 'missing'> {
    return runScript(
      this.redis.client,
      'ksTakeOverIncident',
      [this.keys.incident(incidentId), this.keys.incidentDiscarded(incidentId)],
      [],
    );
  }

  /** Tells live feeds to read an incident again (a stop that fenced nothing named it). */
  async announce(incidentId: string): Promise<void> {
    await this.redis.client.publish(this.keys.events(), updated(incidentId));
  }

  /**
   * Puts an entry on the timeline, even when Redis is out of memory (why the follow-up of a
   * stop that landed then must wait), and tells live feeds.
   */
  async note(incidentId: string, entry: StoredEntry): Promise<void> {
    await writeEvenIfFull(
      this.redis.client,
      'RPUSH',
      this.keys.incidentTimeline(incidentId),
      JSON.stringify(entry),
    );
    await this.redis.client.publish(this.keys.events(), updated(incidentId, { step: entry.step }));
  }

  /**
   * Lists the incident again if it exists (a write beside its own, or a discard cut short,
   * may have left it off the list; again is a no-op), and answers its status.
   */
  async relist(incidentId: string): Promise<IncidentStatus | undefined> {
    const [status, openedAt] = await this.redis.client.hmget(
      this.keys.incident(incidentId),
      'status',
      'openedAt',
    );
    if (status && openedAt) {
      await this.index(incidentId, Number(openedAt));
    }
    return (status as IncidentStatus | null) ?? undefined;
  }

  /** Whether the incident exists, and its status. */
  async status(incidentId: string): Promise<IncidentStatus | undefined> {
    const status = await this.redis.client.hget(this.keys.incident(incidentId), 'status');
    return (status as IncidentStatus | null) ?? undefined;
  }

  async indexForOwners(incidentId: string, openedAt: number, owners: string[]): Promise<void> {
    if (owners.length === 0) {
      return;
    }
    const distinct = [...new Set(owners)];
    const client = this.redis.client;
    // One write per owner's index: they lie in other slots (sent at once, not one by one).
    await Promise.all([
      writeEvenIfFull(client, 'SADD', this.keys.incidentOwners(incidentId), ...distinct),
      ...distinct.map((owner) =>
        writeEvenIfFull(client, 'ZADD', this.keys.ownerIncidents(owner), openedAt, incidentId),
      ),
    ]);
  }

  /** The owners of the incident's agents, as far as they are indexed (see indexForOwners). */
  owners(incidentId: string): Promise<string[]> {
    return this.redis.client.smembers(this.keys.incidentOwners(incidentId));
  }

  /**
   * The agent ids an incident selected; with `first`, only that many (read as a prefix of the
   * stored string, not the whole of it: a live feed wants the first few of 10,000).
   */
  async agentIds(incidentId: string, first?: number): Promise<string[]> {
    if (first === 0) {
      // GETRANGE 0 -2 would read all of it but the last character.
      return [];
    }
    const key = this.keys.incidentAgents(incidentId);
    try {
      // Agent ids are 20 characters, each followed by a space.
      const ids =
        first === undefined
          ? await this.redis.client.get(key)
          : await this.redis.client.getrange(key, 0, first * 21 - 2);
      return ids ? ids.split(' ') : [];
    } catch (error) {
      // Incidents opened by 0.1 kept their agents in a list.
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) {
        return this.redis.client.lrange(key, 0, first === undefined ? -1 : first - 1);
      }
      throw error;
    }
  }

  /**
   * Records the agents a bulk stop fenced, each with the epoch it was revoked at: their number
   * is the follow-up's total, and the list is what the fan-out queues. Kept rather than read
   * back from the agents, since an agent reinstated meanwhile no longer says it was ours. Moves
   * the incident on from `open`, once: by its call, or by a fan-out that took it over, never
   * both. Answers false if it was recorded already or taken over from this call.
   *
   * @param selected - the incident's agents that exist, in the order it was opened with
   * @param options.dropMissing - some selected ids were of no agent: the incident's agents
   *   become `selected` (its timeline says which were not found)
   * @param options.entry - put on the timeline in the same step, if this records it
   */
  async setFenced(
    incidentId: string,
    selected: string[],
    fenced: FencedAgent[],
    options: { by: 'call' | 'fan-out'; dropMissing?: boolean; entry?: StoredEntry },
  ): Promise<boolean> {
    const k = this.keys;
    const recorded = await runScript<number>(
      this.redis.client,
      'ksRecordFenced',
      [
        k.incident(incidentId),
        k.incidentAgents(incidentId),
        k.incidentFenced(incidentId),
        k.incidentTimeline(incidentId),
      ],
      [
        options.by,
        options.dropMissing ? selected.length : '',
        options.dropMissing ? selected.join(' ') : '',
        fenced.length,
        fenced.length > 0 ? fencedEpochs(selected, fenced) : '',
        Date.now(),
        options.entry ? JSON.stringify(options.entry) : '',
        k.events(),
      ],
    );
    return recorded === 1;
  }

  /** What {@link setFenced} recorded, or undefined if the call fenced nothing or never got there. */
  async fencedAgents(incidentId: string): Promise<FencedAgent[] | undefined> {
    const [selected, epochs] = await Promise.all([
      this.agentIds(incidentId),
      this.redis.client.get(this.keys.incidentFenced(incidentId)),
    ]);
    if (epochs === null) {
      return undefined;
    }
    const fenced: FencedAgent[] = [];
    epochs.split(' ').forEach((epoch, i) => {
      if (epoch !== '-' && selected[i]) {
        fenced.push({ agentId: selected[i], revokedEpoch: Number(epoch) });
      }
    });
    return fenced;
  }

  /**
   * Records a step of one agent's follow-up while it runs: its timeline entries (those of
   * steps not recorded yet), and its counts so far (`counts` are the agent's exact totals; only
   * what they add is counted). Answers how many entries it added.
   */
  agentProgress(
    incidentId: string,
    agentId: string,
    counts: FollowupCounts,
    { halts, entries = [], review = [] }: FollowupSteps,
  ): Promise<number> {
    const k = this.keys;
    return runScript<number>(
      this.redis.client,
      'ksAgentProgress',
      [
        k.incident(incidentId),
        k.incidentReported(incidentId),
        k.incidentProgress(incidentId),
        k.incidentTimeline(incidentId),
        k.incidentRecorded(incidentId),
        k.incidentReview(incidentId),
      ],
      [
        agentId,
        counts.halted,
        counts.aborted,
        counts.rolledBack,
        k.events(),
        updated(incidentId, { step: entries[entries.length - 1]?.entry.step ?? 'halt' }),
        halts ? JSON.stringify(halts) : '',
        JSON.stringify(review),
        ...entries.flatMap(({ key, entry }) => [key, JSON.stringify(entry)]),
      ],
    );
  }

  /**
   * Ends the follow-up of an incident whose fan-out gave up: done, with `why` as a review item
   * for the whole incident, unless it was over already. Answers the status it leaves
   * (undefined: no such incident, and nothing written).
   */
  async giveUp(
    incidentId: string,
    why: string,
    entry: StoredEntry,
  ): Promise<IncidentStatus | undefined> {
    const k = this.keys;
    const review: ReviewItem = { why };
    const status = await runScript<IncidentStatus | null>(
      this.redis.client,
      'ksGiveUpIncident',
      [k.incident(incidentId), k.incidentReview(incidentId), k.incidentTimeline(incidentId)],
      [
        JSON.stringify(review),
        JSON.stringify(entry),
        Date.now(),
        k.events(),
        updated(incidentId, { step: entry.step }),
      ],
    );
    return status ?? undefined;
  }

  /** Counts one agent's follow-up into the incident, exactly once. */
  async reportAgent(
    incidentId: string,
    agentId: string,
    counts: FollowupCounts,
    review: ReviewItem[],
  ): Promise<{ done: number; total: number; status: string }> {
    const k = this.keys;
    const [done, total, status] = await runScript<[number, number, string]>(
      this.redis.client,
      'ksReportAgent',
      [
        k.incident(incidentId),
        k.incidentReported(incidentId),
        k.incidentReview(incidentId),
        k.incidentTimeline(incidentId),
        k.incidentProgress(incidentId),
        k.incidentRecorded(incidentId),
      ],
      [
        agentId,
        counts.halted,
        counts.aborted,
        counts.rolledBack,
        JSON.stringify(review),
        k.events(),
      ],
    );
    return { done, total, status };
  }

  async summary(incidentId: string): Promise<IncidentSummary | undefined> {
    return (await this.forFollowup(incidentId))?.incident;
  }

  /**
   * The incident as its follow-up reads it, with how many agent ids its stop selected (its
   * `agents` counts only those that exist; incidents opened before it was kept: the same).
   */
  async forFollowup(
    incidentId: string,
  ): Promise<{ incident: IncidentSummary; selected: number } | undefined> {
    const fields = await this.redis.client.hmget(
      this.keys.incident(incidentId),
      ...SUMMARY_FIELDS,
      'selected',
    );
    const incident = toSummary(fields);
    if (!incident) {
      return undefined;
    }
    const selected = fields[SUMMARY_FIELDS.length];
    return { incident, selected: selected === null ? incident.agents : Number(selected) };
  }

  /**
   * The whole incident; with `limits`, only that many of the newest timeline entries, of the
   * first review items and of the first agent ids (a live view polling an incident of thousands
   * of agents needs a few of each).
   */
  async get(incidentId: string, limits: IncidentViewLimits = {}): Promise<Incident | undefined> {
    const k = this.keys;
    const [summary, agentIds, [timeline, timelineTotal], [review, reviewTotal]] = await Promise.all(
      [
        this.summary(incidentId),
        this.agentIds(incidentId, limits.agents),
        this.listPart(k.incidentTimeline(incidentId), limits.timeline, 'last'),
        this.listPart(k.incidentReview(incidentId), limits.review, 'first'),
      ],
    );
    if (!summary) {
      return undefined;
    }
    return {
      ...summary,
      agentIds,
      needsReview: review.map((line) => JSON.parse(line) as ReviewItem),
      reviewTotal,
      timeline: timeline.map((line) => {
        const entry = JSON.parse(line) as StoredEntry;
        return { ...entry, at: isoMs(entry.at) };
      }),
      timelineTotal,
    };
  }

  /** `count` items from one end of a list (all of them when undefined), and its length. */
  private async listPart(
    key: string,
    count: number | undefined,
    end: 'first' | 'last',
  ): Promise<[string[], number]> {
    if (count === 0) {
      return [[], await this.redis.client.llen(key)];
    }
    const [start, stop] =
      count === undefined ? [0, -1] : end === 'first' ? [0, count - 1] : [-count, -1];
    const [items, length] = await execOrThrow(
      this.redis.client.pipeline().lrange(key, start, stop).llen(key),
    );
    return [items as string[], length as number];
  }

  /**
   * Incidents newest first, after `before` (exclusive): the cursor is the last one's opening
   * time and id, so incidents opened in the same millisecond are neither skipped nor repeated
   * (Redis orders equal scores by member; newest first, that order is reversed).
   */
  async page(
    owner: string | undefined,
    before: { openedAt: number; id: string } | undefined,
    count: number,
  ) {
    const key = owner ? this.keys.ownerIncidents(owner) : this.keys.incidentsIndex();
    // Those opened in the cursor's millisecond are read again, then skipped up to the cursor.
    const extra = before
      ? await this.redis.client.zcount(key, before.openedAt, before.openedAt)
      : 0;
    const flat = await this.redis.client.zrange(
      key,
      before === undefined ? '+inf' : before.openedAt,
      '-inf',
      'BYSCORE',
      'REV',
      'LIMIT',
      0,
      count + extra,
      'WITHSCORES',
    );
    const page: { id: string; openedAt: number }[] = [];
    for (let i = 0; i < flat.length && page.length < count; i += 2) {
      const entry = { id: flat[i], openedAt: Number(flat[i + 1]) };
      if (!before || entry.openedAt < before.openedAt || entry.id < before.id) {
        page.push(entry);
      }
    }
    return page;
  }

  async involvesOwner(incidentId: string, owner: string): Promise<boolean> {
    return (await this.redis.client.zscore(this.keys.ownerIncidents(owner), incidentId)) !== null;
  }

  /**
   * Resolves an incident whose follow-up is over (or, forced, one still open or following up);
   * answers `ok`, or the status that refused it (`open`, `following_up`, `resolved`), or
   * `missing`.
   */
  async resolve(
    incidentId: string,
    by: Actor,
    note: string,
    entry: StoredEntry,
    force = false,
  ): Promise<'ok' | 'missing' | 'open' | 'following_up' | 'resolved'> {
    return runScript(
      this.redis.client,
      'ksResolveIncident',
      [this.keys.incident(incidentId), this.keys.incidentTimeline(incidentId)],
      [
        entry.at,
        JSON.stringify(by),
        note,
        JSON.stringify(entry),
        this.keys.events(),
        updated(incidentId, { status: 'resolved' }),
        force ? '1' : '',
      ],
    );
  }
}

/** The `incident.updated` event live feeds (the relay) re-read an incident on. */
function updated(incidentId: string, detail: Record<string, string> = {}): string {
  return JSON.stringify({ event: 'incident.updated', incidentId, ...detail });
}

function toSummary(fields: (string | null)[]): IncidentSummary | undefined {
  const v = Object.fromEntries(SUMMARY_FIELDS.map((name, i) => [name, fields[i]])) as Record<
    (typeof SUMMARY_FIELDS)[number],
    string | null
  >;
  if (!v.id || !v.status || !v.openedAt) {
    return undefined;
  }
  const n = (value: string | null) => Number(value ?? 0);
  const summary: IncidentSummary = {
    id: v.id,
    status: v.status as IncidentStatus,
    reason: v.reason ?? '',
    openedBy: JSON.parse(v.openedBy ?? '{}') as Actor,
    openedFrom: JSON.parse(v.openedFrom ?? '{}') as Origin,
    openedAt: isoMs(n(v.openedAt)),
    rollback: JSON.parse(v.rollback ?? '"epoch"') as RollbackPolicy,
    agents: n(v.agents),
    counts: {
      fenced: n(v.fenced),
      halted: n(v.halted),
      aborted: n(v.aborted),
      rolledBack: n(v.rolledBack),
      needsReview: n(v.needsReview),
    },
    progress: { done: n(v.done), total: n(v.total) },
  };
  if (v.doneAt) {
    summary.doneAt = isoMs(n(v.doneAt));
  }
  if (v.resolvedAt) {
    summary.resolvedAt = isoMs(n(v.resolvedAt));
    summary.resolvedBy = JSON.parse(v.resolvedBy ?? '{}') as Actor;
    summary.note = v.note ?? '';
  }
  return summary;
}

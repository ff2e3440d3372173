import { Injectable } from '@nestjs/common';
import { canSeeAll } from '@app/agents';
import type { UserPrincipal } from '@app/auth';
import { conflict, forbidden, notFound } from '@app/core';
import {
  actorName,
  Incident,
  IncidentStatus,
  IncidentSummary,
  IncidentViewLimits,
} from './incident';
import { IncidentsRepository } from './incidents.repository';
import { renderIncidentMarkdown } from './incident.markdown';

@Injectable()
export class IncidentsService {
  constructor(private readonly incidents: IncidentsRepository) {}

  /**
   * Responders and admins read every incident; others those that involve their agents.
   * `limits` keeps only the newest timeline entries, the first review items and the first
   * agent ids.
   */
  async get(
    principal: UserPrincipal,
    incidentId: string,
    limits: IncidentViewLimits = {},
  ): Promise<Incident> {
    const incident = await this.incidents.get(incidentId, limits);
    if (!incident) {
      throw notFound(`Incident ${incidentId}`);
    }
    if (
      !canSeeAll(principal) &&
      incident.openedBy.userId !== principal.userId &&
      !(await this.incidents.involvesOwner(incidentId, principal.userId))
    ) {
      throw forbidden(`Incident ${incidentId} does not involve your agents`);
    }
    return incident;
  }

  async markdown(principal: UserPrincipal, incidentId: string): Promise<string> {
    // All of the timeline and review list; no agent ids, which the report does not name.
    return renderIncidentMarkdown(await this.get(principal, incidentId, { agents: 0 }));
  }

  async list(
    principal: UserPrincipal,
    query: { status?: IncidentStatus; limit: number; cursor?: string },
  ): Promise<{ items: IncidentSummary[]; nextCursor: string | null }> {
    const owner = canSeeAll(principal) ? undefined : principal.userId;
    const items: IncidentSummary[] = [];
    let before = parseCursor(query.cursor);
    // Status filtering reads ahead a bounded number of entries per request.
    for (let scanned = 0; items.length < query.limit && scanned < 2000;) {
      const page = await this.incidents.page(owner, before, Math.max(query.limit, 50));
      if (page.length === 0) {
        return { items, nextCursor: null };
      }
      // Sent together: one round trip for the page, not one per incident.
      const summaries = await Promise.all(page.map(({ id }) => this.incidents.summary(id)));
      for (const [i, { openedAt }] of page.entries()) {
        scanned++;
        before = { openedAt, id: page[i].id };
        const summary = summaries[i];
        if (summary && (!query.status || summary.status === query.status)) {
          items.push(summary);
          if (items.length === query.limit) {
            break;
          }
        }
      }
    }
    // A page that took the index's last entry is the last one: no cursor to an empty page.
    const more = before !== undefined && (await this.incidents.page(owner, before, 1)).length > 0;
    return {
      items,
      nextCursor: more && before !== undefined ? `${before.openedAt}_${before.id}` : null,
    };
  }

  /**
   * Closes an incident whose follow-up is over, with a note for the record. `force` (admins):
   * one still open or following up, when its follow-up is stuck; the timeline says it was cut
   * short.
   */
  async resolve(
    principal: UserPrincipal,
    incidentId: string,
    note: string,
    force = false,
  ): Promise<Incident> {
    if (force && principal.role !== 'admin') {
      throw forbidden(
        'force is for admins (it resolves an incident whose follow-up is stuck); ' +
          'resolve a done incident without it',
      );
    }
    // Who may read it may resolve it (404 and 403 first); the script decides the rest.
    await this.get(principal, incidentId);
    const actor = { userId: principal.userId, name: principal.name, role: principal.role };
    const outcome = await this.incidents.resolve(
      incidentId,
      actor,
      note,
      {
        at: Date.now(),
        actor: actorName(principal),
        via: principal.via,
        step: 'resolve',
        outcome: 'resolved',
        detail: note,
      },
      force,
    );
    switch (outcome) {
      case 'missing':
        throw notFound(`Incident ${incidentId}`);
      case 'open':
      case 'following_up':
        throw conflict(
          `Incident ${incidentId} is still ${outcome === 'open' ? 'being recorded' : 'following up'}` +
            ` (${outcome}): resolve it once it is done, its agents' queued actions halted and ` +
            `their actions rolled back; GET /v1/incidents/${incidentId} shows its progress ` +
            '(an admin may force it, with force: true, if its follow-up is stuck)',
        );
      case 'resolved':
        throw conflict(`Incident ${incidentId} is already resolved`);
      case 'ok':
        break;
    }
    return this.get(principal, incidentId);
  }
}

/** `<openedAt ms>_<incident id>`, as `list` returns it; a bare time (older cursors) also works. */
function parseCursor(cursor: string | undefined): { openedAt: number; id: string } | undefined {
  if (cursor === undefined) {
    return undefined;
  }
  const at = cursor.indexOf('_');
  // A bare time: everything opened in that millisecond counts as seen ('' sorts before all).
  return at < 0
    ? { openedAt: Number(cursor), id: '' }
    : { openedAt: Number(cursor.slice(0, at)), id: cursor.slice(at + 1) };
}

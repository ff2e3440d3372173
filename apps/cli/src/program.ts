import { terminalQr } from './qr';
import { Command, InvalidArgumentError, Option } from 'commander';
import { KillswitchClient } from './client';
import { DEFAULT_URL, readConfig } from './config';
import { CliError, EXIT, EXIT_CODES_HELP } from './errors';
import { followIncident } from './follow';
import {
  agentsTable,
  cleanKeepingLines,
  formatTime,
  incidentPath,
  incidentSummary,
  incidentsTable,
} from './format';
import { confirm } from './prompt';
import {
  Agent,
  DryRunAnswer,
  Incident,
  IncidentSummary,
  Me,
  Page,
  RevocationAnswer,
  Rollback,
  Selector,
} from './types';

/** The streams and environment the CLI runs with (the process's own in production). */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

const DEFAULT_WAIT_SECONDS = 600;

const ENV_HELP = `
Environment:
  KILLSWITCH_URL      the killswitch API (default ${DEFAULT_URL})
  KILLSWITCH_API_KEY  your API key (ksk_...), sent as "Authorization: Bearer <key>"`;

const REVOKE_EXAMPLES = `
Examples:
  killswitch revoke --agent agt_5324f500ac49cb53 --reason "deleting mail it should archive"
  killswitch revoke --label team=infra --reason "prompt injection in the infra tools" --yes
  killswitch revoke --all --reason "incident 42" --rollback epoch
  killswitch revoke --all --reason "drill" --dry-run

--label, --owner and --all ask "Revoke N agents? [y/N]" on a terminal after a dry run;
without a terminal they refuse unless --yes is given.`;

// ---- option parsers (commander turns InvalidArgumentError into a usage error) ----

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collectLabel(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const match = /^([^=]+)=(.*)$/.exec(value);
  if (!match || !match[1].trim()) {
    throw new InvalidArgumentError('expected key=value, such as team=infra.');
  }
  const [, key, label] = match;
  if (previous && key in previous && previous[key] !== label) {
    throw new InvalidArgumentError(`label "${key}" is given twice with different values.`);
  }
  return { ...(previous ?? {}), [key]: label };
}

export function parseRollback(value: string): Rollback {
  if (value === 'none' || value === 'epoch') {
    return value;
  }
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) {
    throw new InvalidArgumentError(
      'expected none, epoch or an ISO time such as 2026-03-01T12:00:00Z.',
    );
  }
  return { since: new Date(time).toISOString() };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1.');
  }
  return n;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function query(params: [string, string | number | undefined][]): string {
  const search = new URLSearchParams();
  for (const [key, value] of params) {
    if (value !== undefined && value !== '') {
      search.append(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

function describeSelector(selector: Selector): string {
  if ('all' in selector) {
    return 'every agent';
  }
  if ('labels' in selector) {
    const labels = Object.entries(selector.labels).map(([k, v]) => `${k}=${v}`);
    return `agents labelled ${labels.join(', ')}`;
  }
  if ('owner' in selector) {
    return `agents owned by ${selector.owner}`;
  }
  return selector.agentIds.join(', ');
}

function listIds(ids: string[], max = 20): string {
  const shown = ids.slice(0, max).join(', ');
  return ids.length > max ? `${shown} and ${ids.length - max} more` : shown;
}

interface RevokeOptions {
  agent?: string[];
  label?: Record<string, string>;
  owner?: string;
  all?: boolean;
  reason: string;
  rollback?: Rollback;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  follow: boolean;
  wait: number;
}

interface IncidentOptions {
  json?: boolean;
  md?: boolean;
  follow: boolean;
  wait: number;
}

/** Builds the `killswitch` command. Nothing is read or sent until a command runs. */
export function buildProgram(io: Io): Command {
  const write = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const writeJson = (value: unknown) => write(JSON.stringify(value, null, 2));
  const note = (text: string) => io.stderr.write(`${text}\n`);
  const client = () => new KillswitchClient(readConfig(io.env));

  /** Prints one page of a listing, as JSON or a table, and how to get the next page. */
  function printPage<T>(
    page: Page<T>,
    json: boolean | undefined,
    what: 'agents' | 'incidents',
    table: (items: T[]) => string,
  ): void {
    if (json) {
      writeJson(page);
      return;
    }
    write(page.items.length === 0 ? `No ${what}.` : table(page.items));
    if (page.nextCursor) {
      note(`More: killswitch ${what} --cursor ${page.nextCursor}`);
    }
  }

  /** Watches (unless told not to) and prints an incident; exit 5 if the watch gave up. */
  async function showIncident(
    api: KillswitchClient,
    id: string,
    options: IncidentOptions,
  ): Promise<void> {
    const path = `/v1/incidents/${encodeURIComponent(id)}`;
    let incident: Incident;
    let finished = true;
    // --json prints the whole incident; the summary shows the first and newest entries only.
    const read = () => api.getJson<Incident>(options.json ? path : incidentPath(id));
    if (options.follow) {
      const watched = await followIncident(api, id, {
        progress: io.stderr,
        // Progress lines in a log are noise next to machine-readable output.
        showProgress: !(options.json || options.md) || io.stderr.isTTY === true,
        timeoutMs: options.wait * 1000,
      });
      finished = watched.finished;
      incident = options.json ? await read() : watched.incident;
    } else {
      incident = await read();
    }
    if (options.md) {
      const markdown = await api.getText(`${path}?format=md`);
      write(io.stdout.isTTY ? cleanKeepingLines(markdown) : markdown);
    } else if (options.json) {
      writeJson(incident);
    } else {
      write(incidentSummary(incident));
    }
    if (!finished) {
      throw new CliError(
        `stopped watching after ${plural(options.wait, 'second')}: incident ${id} is still ` +
          `${incident.status} (${incident.progress.done}/${incident.progress.total} agents); ` +
          `the follow-up goes on. Watch again with: killswitch incident ${id}`,
        EXIT.stillRunning,
      );
    }
  }

  const program = new Command('killswitch')
    .description(
      'Stop AI agents and follow the incident: the responder side of killswitch.\n' +
        'Every request carries your API key and "X-Killswitch-Client: cli".',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // One line, like every other error: Commander writes "error: <what>" and a hint below.
      outputError: (text, write) =>
        write(`killswitch: ${text.replace(/^error: /, '').trimEnd()} (add --help for usage)\n`),
    })
    .addHelpText('after', `${ENV_HELP}\n${EXIT_CODES_HELP}`);

  const wait = () =>
    new Option('--wait <seconds>', 'how long to watch the follow-up before giving up')
      .argParser(positiveInt)
      .default(DEFAULT_WAIT_SECONDS);

  program
    .command('revoke')
    .summary('revoke agents now, then follow the incident')
    .description(
      'Revoke agents now: fence them, halt and abort their actions, roll back per --rollback.\n' +
        'Then follows the incident (as `killswitch incident ID`) unless --no-follow or --json.',
    )
    .addOption(
      new Option('--agent <id>', 'an agent to revoke (repeat for several)')
        .argParser(collect)
        .conflicts(['label', 'owner', 'all']),
    )
    .addOption(
      new Option(
        '--label <key=value>',
        'revoke the agents with this label (repeat: all must match)',
      )
        .argParser(collectLabel)
        .conflicts(['owner', 'all']),
    )
    .addOption(new Option('--owner <userId>', 'revoke every agent of this user').conflicts(['all']))
    .option('--all', 'revoke every agent')
    .requiredOption('--reason <text>', 'why (kept on the incident and shown to the agents)')
    .addOption(
      new Option(
        '--rollback <mode>',
        'what to roll back: none, epoch (what the agents did under the revoked epoch; the server default) or an ISO time (what they did since then)',
      ).argParser(parseRollback),
    )
    .option('--dry-run', 'only say which agents would be revoked')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .option('--json', 'print the raw answer as JSON and exit (no follow)')
    .option('--no-follow', 'do not watch the incident afterwards')
    .addOption(wait())
    .addHelpText('after', REVOKE_EXAMPLES)
    .action(async (options: RevokeOptions, command: Command) => {
      let selector: Selector;
      if (options.all) {
        selector = { all: true };
      } else if (options.agent) {
        selector = { agentIds: [...new Set(options.agent)] };
      } else if (options.label) {
        selector = { labels: options.label };
      } else if (options.owner) {
        selector = { owner: options.owner };
      } else {
        command.error(
          'error: say which agents to revoke: --agent ID, --label key=value, --owner USER_ID or --all',
          { exitCode: EXIT.usage, code: 'killswitch.noSelector' },
        );
      }
      const reason = options.reason.trim();
      if (!reason) {
        command.error('error: --reason must not be blank', {
          exitCode: EXIT.usage,
          code: 'killswitch.blankReason',
        });
      }
      const rollback = options.rollback === undefined ? {} : { rollback: options.rollback };
      const what = describeSelector(selector);
      const api = client();

      if (options.dryRun) {
        const answer = await api.postJson<DryRunAnswer>('/v1/revocations', {
          selector,
          reason,
          dryRun: true,
          ...rollback,
        });
        if (options.json) {
          writeJson(answer);
          return;
        }
        const { stop, already, which } = stoppable(answer);
        if (answer.agents === 0) {
          write(`Dry run: no agent matches (${what}); nothing would be revoked.`);
        } else if (stop.length === 0) {
          write(`Dry run: ${nothingToRevoke(already)}`);
        } else {
          write(`Dry run: would revoke ${plural(stop.length, 'agent')}: ${which}`);
        }
        if (answer.missingIds?.length) {
          note(`Not found: ${listIds(answer.missingIds)}`);
        }
        return;
      }

      if (!('agentIds' in selector) && !options.yes) {
        // The preview first, terminal or not: a role too weak, or nothing to revoke, is the
        // answer then, not the missing confirmation.
        const preview = await api.postJson<DryRunAnswer>('/v1/revocations', {
          selector,
          reason,
          dryRun: true,
          ...rollback,
        });
        if (preview.agents === 0) {
          write(`No agent matches (${what}); nothing revoked.`);
          return;
        }
        const { stop, already, which } = stoppable(preview);
        if (stop.length === 0) {
          write(nothingToRevoke(already));
          return;
        }
        if (io.stdin.isTTY !== true) {
          throw new CliError(
            `refusing to revoke ${what} without confirmation: there is no terminal to ask on. ` +
              'Pass --yes to confirm (or --dry-run to see which agents would be revoked).',
            EXIT.usage,
          );
        }
        note(`This revokes ${what}: ${which}`);
        const yes = await confirm(
          `Revoke ${plural(stop.length, 'agent')}? [y/N] `,
          io.stdin,
          io.stderr,
        );
        if (!yes) {
          throw new CliError('not confirmed; nothing revoked.', EXIT.failed);
        }
      }

      const single =
        'agentIds' in selector && selector.agentIds.length === 1 ? selector.agentIds[0] : undefined;
      const answer =
        single === undefined
          ? await api.postJson<RevocationAnswer>('/v1/revocations', {
              selector,
              reason,
              ...rollback,
            })
          : await api.postJson<RevocationAnswer>(
              `/v1/agents/${encodeURIComponent(single)}/revoke`,
              { reason, ...rollback },
            );
      if (options.json) {
        writeJson(answer);
        return;
      }
      // Counted as the incident counts them: agents this call stopped, apart from those an
      // earlier revocation had stopped already.
      const already = answer.alreadyRevokedIds.length;
      const fenced = answer.agents - already;
      const incident = answer.incidentId ? ` Incident ${answer.incidentId}` : '';
      const at = formatTime(answer.revokedAt);
      if (fenced > 0) {
        write(
          `Revoked ${plural(fenced, 'agent')} at ${at}.` +
            (already > 0
              ? ` ${already} more ${already === 1 ? 'was' : 'were'} already revoked.`
              : '') +
            incident,
        );
      } else if (single !== undefined) {
        write(`Already revoked at ${at}.${incident}`);
      } else {
        write(
          `Nothing to revoke: ${already === 1 ? 'the agent was' : `all ${already} agents were`} ` +
            `already revoked (the last at ${at}).${incident}`,
        );
      }
      if (answer.missingIds.length > 0) {
        note(`Not found (nothing done): ${listIds(answer.missingIds)}`);
      }
      // A stop that fenced nothing named the incident of an earlier one: nothing to watch (and
      // that incident may not be the caller's to read).
      if (answer.incidentId && options.follow && fenced > 0) {
        await showIncident(api, answer.incidentId, { follow: true, wait: options.wait });
      }
    });

  program
    .command('incidents')
    .summary('list incidents')
    .description('List incidents, newest first.')
    .addOption(
      new Option('--status <status>', 'only incidents in this status').choices([
        'open',
        'following_up',
        'done',
        'resolved',
      ]),
    )
    .addOption(new Option('--limit <n>', 'at most n incidents').argParser(positiveInt))
    .option('--cursor <cursor>', 'the next page (as printed after a full page)')
    .option('--json', 'print the raw answer as JSON')
    .action(
      async (options: { status?: string; limit?: number; cursor?: string; json?: boolean }) => {
        const page = await client().getJson<Page<IncidentSummary>>(
          `/v1/incidents${query([
            ['status', options.status],
            ['limit', options.limit],
            ['cursor', options.cursor],
          ])}`,
        );
        printPage(page, options.json, 'incidents', incidentsTable);
      },
    );

  program
    .command('incident')
    .summary('watch and show one incident')
    .description(
      'Show one incident. While its follow-up runs (open, following_up) a progress bar is drawn\n' +
        'on stderr, polling every 500 ms; then counts, what needs review and the latest timeline.',
    )
    .argument('<id>', 'the incident id')
    .addOption(new Option('--json', 'print the incident as JSON').conflicts('md'))
    .option('--md', 'print the Markdown report')
    .option('--no-follow', 'print its current state at once, without waiting')
    .addOption(wait())
    .action(async (id: string, options: IncidentOptions) => {
      await showIncident(client(), id, options);
    });

  program
    .command('agents')
    .summary('list agents')
    .description('List agents, newest first (owners and viewers see only their own).')
    .option(
      '--label <key=value>',
      'only agents with this label (repeat: all must match)',
      collectLabel,
    )
    .addOption(
      new Option('--status <status>', 'only agents in this status').choices(['active', 'revoked']),
    )
    .option('--owner <userId>', 'only agents of this user')
    .addOption(new Option('--limit <n>', 'at most n agents').argParser(positiveInt))
    .option('--cursor <cursor>', 'the next page (as printed after a full page)')
    .option('--json', 'print the raw answer as JSON')
    .action(
      async (options: {
        label?: Record<string, string>;
        status?: string;
        owner?: string;
        limit?: number;
        cursor?: string;
        json?: boolean;
      }) => {
        const labels = Object.entries(options.label ?? {}).map(
          ([k, v]) => ['label', `${k}=${v}`] as [string, string],
        );
        const page = await client().getJson<Page<Agent>>(
          `/v1/agents${query([
            ...labels,
            ['status', options.status],
            ['owner', options.owner],
            ['limit', options.limit],
            ['cursor', options.cursor],
          ])}`,
        );
        printPage(page, options.json, 'agents', agentsTable);
      },
    );

  program
    .command('pair')
    .summary('get a code to pair a phone with the relay')
    .description(
      'Create a single-use pairing code (valid a few minutes) and show it, its link and, on a ' +
        'terminal, a QR code of the link: scan it with the phone, or type the code on the phone page.',
    )
    .option('--json', 'print the raw answer as JSON')
    .option('--no-qr', 'do not draw the QR code')
    .action(async (options: { json?: boolean; qr: boolean }) => {
      const api = client();
      const pairing = await api.postJson<{ code: string; expiresAt: string; pairingUrl: string }>(
        '/v1/devices/pairing-codes',
        {},
      );
      if (options.json) {
        writeJson(pairing);
        return;
      }
      const grouped = pairing.code.replace(/^(.{4})(.{4})(.{2})$/, '$1-$2-$3');
      write(`Pairing code: ${grouped} (single use, valid until ${pairing.expiresAt})`);
      write(`On the phone, open: ${pairing.pairingUrl}`);
      if (options.qr && io.stdout.isTTY) {
        write(terminalQr(pairing.pairingUrl));
      }
    });

  program
    .command('whoami')
    .summary('show who the API key belongs to')
    .description('Show who the API key belongs to.')
    .option('--json', 'print the raw answer as JSON')
    .action(async (options: { json?: boolean }) => {
      const api = client();
      const me = await api.getJson<Me>('/v1/me');
      if (options.json) {
        writeJson(me);
        return;
      }
      write(`${me.name} (${me.userId}), role ${me.role}, at ${api.url}`);
    });

  return program;
}

/**
 * Of a dry run's agents, those a stop would fence, how many are revoked already, and both said
 * for people.
 */
function stoppable(answer: DryRunAnswer): { stop: string[]; already: number; which: string } {
  // Older servers did not say which were revoked already.
  const revoked = new Set(answer.alreadyRevokedIds ?? []);
  const stop = (answer.agentIds ?? []).filter((id) => !revoked.has(id));
  const already = revoked.size;
  return {
    stop,
    already,
    which: listIds(stop) + (already > 0 ? ` (${already} more revoked already)` : ''),
  };
}

const nothingToRevoke = (already: number) =>
  `${plural(already, 'agent')}, all revoked already: nothing to revoke.`;

import { KillswitchClient, ServerError } from './client';
import { CliError, EXIT } from './errors';
import { incidentPath } from './format';
import { ProgressBar } from './progress';
import { ACTIVE_STATUSES, Incident } from './types';

export interface FollowOptions {
  /** Where the progress bar goes (stderr). */
  progress: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Whether to draw progress at all (off for --json and --md on a pipe). */
  showProgress: boolean;
  /** @defaultValue 500 */
  intervalMs?: number;
  /** How long to watch before giving up. @defaultValue 10 minutes */
  timeoutMs?: number;
  /** How long the server may stay unreachable (or answer 5xx) before giving up. @defaultValue 30 s */
  outageMs?: number;
}

export interface FollowResult {
  incident: Incident;
  /** False when the bound passed while the follow-up was still running. */
  finished: boolean;
}

export const DEFAULT_FOLLOW_TIMEOUT_MS = 10 * 60_000;

export function isActive(incident: Incident): boolean {
  return ACTIVE_STATUSES.includes(incident.status);
}

function transient(error: unknown): error is CliError {
  return (
    (error instanceof CliError && error.exitCode === EXIT.unreachable) ||
    (error instanceof ServerError && error.status >= 500)
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls an incident until its follow-up is over (status neither "open" nor "following_up")
 * or `timeoutMs` passes, drawing its progress. A short outage (a restarting server, a 503)
 * does not end the watch: a revocation's follow-up goes on server-side regardless.
 */
export async function followIncident(
  client: KillswitchClient,
  id: string,
  options: FollowOptions,
): Promise<FollowResult> {
  const intervalMs = options.intervalMs ?? 500;
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_FOLLOW_TIMEOUT_MS);
  const outageMs = options.outageMs ?? 30_000;
  const path = incidentPath(id);
  const progress = new ProgressBar(options.progress);
  let incident = await client.getJson<Incident>(path);
  let failingSince: number | undefined;

  const onInterrupt = () => {
    progress.stop();
    options.progress.write(
      `\nStopped watching; the follow-up goes on. Watch again with: killswitch incident ${id}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    let note = '';
    for (;;) {
      if (!isActive(incident)) {
        return { incident, finished: true };
      }
      if (options.showProgress) {
        progress.update(incident, note);
      }
      if (Date.now() >= deadline) {
        return { incident, finished: false };
      }
      await sleep(intervalMs);
      try {
        incident = await client.getJson<Incident>(path);
        failingSince = undefined;
        note = '';
      } catch (error) {
        if (!transient(error)) {
          throw error;
        }
        failingSince ??= Date.now();
        if (Date.now() - failingSince > outageMs) {
          throw error;
        }
        note = `retrying: ${error.message}`;
      }
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    progress.stop();
  }
}

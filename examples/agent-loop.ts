/**
 * A minimal agent that does one unit of "work" per second for as long as its
 * kill switch lease is valid.
 *
 *   KILLSWITCH_URL=http://127.0.0.1:3000 KILLSWITCH_LEASE_TOKEN=ksl_... npx ts-node examples/agent-loop.ts
 *
 * Exit codes: 0 after Ctrl-C, 1 if the lease could not be validated at
 * start-up, 3 if the kill switch stopped the agent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  KillSwitch,
  KillSwitchError,
  type KillSwitchAbortReason,
  type KillSwitchSession,
} from '../libs/agent-sdk/src';

async function doWork(step: number, signal: AbortSignal): Promise<void> {
  // Passing the signal on is what makes revocation immediate: the pending
  // sleep (in a real agent: the LLM call, the HTTP request) is cancelled.
  await sleep(1_000, undefined, { signal });
  console.log(`[agent] step ${step} done`);
}

async function main(): Promise<number> {
  const url = process.env.KILLSWITCH_URL ?? 'http://127.0.0.1:3000';
  const token = process.env.KILLSWITCH_LEASE_TOKEN;
  if (!token) {
    console.error('[agent] KILLSWITCH_LEASE_TOKEN is not set');
    return 1;
  }

  let session: KillSwitchSession;
  try {
    session = await KillSwitch.connect({
      url,
      token,
      logger: { info: console.info, warn: console.warn, error: console.error },
    });
  } catch (error) {
    if (error instanceof KillSwitchError) {
      // No lease, no work: the agent refuses to start rather than run unsupervised.
      console.error(`[agent] refusing to start (${error.status}): ${error.message}`);
      return 1;
    }
    throw error;
  }
  console.log(
    `[agent] lease valid until ${session.expiresAt.toISOString()} (epoch ${session.epoch})`,
  );

  session.onRevoked((reason) => {
    console.warn(
      `[agent] kill switch engaged: ${reason.cause}${reason.reason ? ` - ${reason.reason}` : ''}`,
    );
  });
  process.once('SIGINT', () => void session.close());

  for (let step = 1; !session.signal.aborted; step++) {
    try {
      await doWork(step, session.signal);
    } catch (error) {
      if (session.signal.aborted) {
        break;
      }
      throw error;
    }
  }

  await session.close();
  const reason = session.signal.reason as KillSwitchAbortReason;
  console.log(`[agent] stopped: ${reason.cause}`);
  return reason.cause === 'closed' ? 0 : 3;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('[agent] crashed', error);
    process.exitCode = 1;
  },
);

import type { ServerResponse } from 'node:http';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Worker } from 'bullmq';
import {
  ActionsModule,
  ActionsQueue,
  ActionsRepository,
  ActionsService,
  ActionTypesService,
  ExecutorRegistry,
} from '@app/actions';
import { AgentsRepository } from '@app/agents';
import type { AgentPrincipal } from '@app/auth';
import { ConfigModule } from '@app/config';
import { HealthRegistry } from '@app/health';
import { RedisModule } from '@app/redis';
import { redisForSpec, storeAgent } from '../../../../test/support/int';
import { deletePrefix, waitFor } from '../../../../test/support/redis';
import { json, ToolServer } from '../../../../test/support/tool-server';
import { ActionsWorker } from './actions.worker';

// The action worker as the app wires it (real Redis, real BullMQ, a real HTTP tool server),
// for what a job's chain of one agent's actions does when the job's lock is lost.
describe('a chain of actions whose job loses its lock (real Redis, BullMQ, tool server)', () => {
  const { config, redis } = redisForSpec('lock-chain');
  const tools = new ToolServer();
  let app: TestingModule;
  let queue: ActionsQueue['queue'];

  beforeAll(async () => {
    await tools.start();
    app = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), RedisModule, ActionsModule],
      providers: [HealthRegistry, ActionsWorker],
    }).compile();
    // The worker warns of every lock it loses: expected here, noise in the test's output.
    app.useLogger(false);
    await app.init();
    queue = app.get(ActionsQueue).queue;
    await app.get(ActionTypesService).put('test.chain', {
      executor: {
        kind: 'webhook',
        url: `${tools.url}/chain`,
        timeoutMs: 5000,
        secret: tools.secret,
      },
      reversible: false,
    });
  });

  afterAll(async () => {
    await app?.close();
    await tools.stop();
    // redisForSpec's clean-up, declared first, ran while the app still wrote keys.
    await deletePrefix(config.keyPrefix);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    tools.off('/chain');
    await queue.resume();
  });

  /**
   * Raises BullMQ's own `lockRenewalFailed` for a job on the app's worker. BullMQ looks at its
   * locks only every 2.5 s, so a lock really taken away is noticed at no moment a test can
   * choose; and a job whose lock is really gone comes back only through the stalled-job check,
   * 5 to 10 s later. Raised by hand, at the moment under test, with the lock left to the job in
   * Redis so that its hand-over puts it back in the queue at once.
   */
  const declareLockLost = (jobId: string) => {
    // Its BullMQ worker is its own (private): the one the event comes from.
    const { worker } = app.get<ActionsWorker, { worker: Worker }>(ActionsWorker);
    worker.emit('lockRenewalFailed', [jobId]);
  };

  /**
   * Queues three actions of a new agent (params `{n: 1}`, `{n: 2}`, `{n: 3}`), the first
   * answered by the tool server only once all three are queued, so that one job runs them as a
   * chain (each released by the end of the one before); answers their ids. A call `unanswered`
   * picks is left without an answer.
   */
  const queueChain = async (
    unanswered: (n: number, response: ServerResponse) => boolean = () => false,
  ): Promise<string[]> => {
    const agent = await storeAgent(new AgentsRepository(redis), { allowedActions: ['test.chain'] });
    const principal: AgentPrincipal = {
      kind: 'agent',
      agentId: agent.id,
      leaseId: 'lse_0000000000000001',
      epoch: 1,
    };
    let queued!: () => void;
    const allQueued = new Promise<void>((resolve) => (queued = resolve));
    tools.on('/chain', async (request, response) => {
      const { n } = request.body.params as { n: number };
      if (n === 1) {
        await allQueued;
      }
      // Another agent's call is a test's before this one, whose chain went on when it failed.
      if (request.body.agentId !== agent.id || !unanswered(n, response)) {
        json(response, 200, { result: { n } });
      }
    });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const submitted = await app.get(ActionsService).submit(principal, {
        type: 'test.chain',
        params: { n },
      });
      ids.push(submitted.id);
    }
    queued();
    return ids;
  };

  /** What the tool server was asked for these actions, in order: each call's `n` and attempt. */
  const calls = (ids: string[]) =>
    tools
      .received('/chain')
      .filter((r) => ids.includes(r.body.actionId))
      .map((r) => [r.body.params.n, r.body.attempt]);
  const statusesOf = async (ids: string[]) =>
    (await Promise.all(ids.map((id) => app.get(ActionsRepository).get(id)))).map(
      (action) => action?.status,
    );
  const historyOf = async (id: string) =>
    (await app.get(ActionsRepository).get(id))?.history.map((entry) => entry.status);

  /** Waits for the run that lost the job's lock to end: its job back in the queue. */
  const handedOver = async (jobId: string) => {
    await waitFor(
      async () => (await queue.getJobState(jobId)) !== 'active',
      10_000,
      'the run that lost its lock to end',
    );
  };
  /** Lets the job run again, and waits until it has ended the chain's actions. */
  const rerun = async (ids: string[]) => {
    await queue.resume();
    await waitFor(
      async () => (await statusesOf(ids)).every((status) => status === 'succeeded'),
      10_000,
      'all three actions to succeed',
    );
  };

  it('starts none of its next actions once the lock is lost as one ends; its re-run does, each once', async () => {
    // Between the end of the first action's call and the chain's start of the next there is
    // no I/O a test could hold, so the lock is declared lost there from the executor's return:
    // the call is over and answered, nothing of its end recorded yet. The queue is paused
    // first, so that nothing may run the job again while its lock is lost: whatever the tool
    // server gets until it is resumed comes from the run that lost it.
    const registry = app.get(ExecutorRegistry);
    const execute = registry.execute.bind(registry);
    let first: string | undefined;
    jest.spyOn(registry, 'execute').mockImplementation(async (spec, request) => {
      const outcome = await execute(spec, request);
      if ((request.params as { n: number }).n === 1) {
        first = request.actionId;
        await queue.pause();
        declareLockLost(request.actionId);
      }
      return outcome;
    });
    const ids = await queueChain();
    await waitFor(() => first !== undefined, 10_000, 'the first call to end');
    await handedOver(ids[0]);

    expect(calls(ids)).toEqual([[1, 1]]);
    expect(['delayed', 'waiting']).toContain(await queue.getJobState(ids[0]));
    // The first action's end is kept; the next ones were not even marked running.
    expect(await statusesOf(ids)).toEqual(['succeeded', 'queued', 'queued']);
    expect(await historyOf(ids[1])).toEqual(['queued']);

    // The job's re-run (the same attempt) finds the first action ended and goes on from there.
    await rerun(ids);
    expect(calls(ids)).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    for (const [i, id] of ids.entries()) {
      expect(await app.get(ActionsRepository).get(id)).toMatchObject({
        attempts: 1,
        result: { n: i + 1 },
      });
      expect(await historyOf(id)).toEqual(['queued', 'running', 'succeeded']);
    }
  });

  it('starts none of its next actions once the lock is lost while one runs; its re-run calls that one again', async () => {
    let second: 'unanswered' | 'cut' | undefined;
    const ids = await queueChain((n, response) => {
      if (n !== 2 || second) {
        return false;
      }
      // Its first call, left without an answer: the worker cuts it once the lock is lost.
      second = 'unanswered';
      response.on('close', () => (second = 'cut'));
      return true;
    });
    await waitFor(() => second === 'unanswered', 10_000, 'the second call');
    await queue.pause();
    declareLockLost(ids[0]);
    await waitFor(() => second === 'cut', 10_000, 'the second call to be cut');
    await handedOver(ids[0]);

    expect(calls(ids)).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(['delayed', 'waiting']).toContain(await queue.getJobState(ids[0]));
    // The cut action's run recorded nothing: it is the re-run's to carry on.
    expect(await statusesOf(ids)).toEqual(['succeeded', 'running', 'queued']);
    expect(await historyOf(ids[2])).toEqual(['queued']);

    await rerun(ids);
    // The cut call may have acted at the tool server or not: the action reaches it again, as
    // the same attempt; the others once each.
    expect(calls(ids)).toEqual([
      [1, 1],
      [2, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(await historyOf(ids[1])).toEqual(['queued', 'running', 'running', 'succeeded']);
    expect(await historyOf(ids[2])).toEqual(['queued', 'running', 'succeeded']);
  });
});

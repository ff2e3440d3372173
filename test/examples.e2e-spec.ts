import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createToolServer } from '../examples/tool-server';
import { RunningApp, TestDeployment } from './support/apps';
import { Api } from './support/http';
import { waitFor } from './support/redis';

describe('examples/tool-server.ts against the real gate', () => {
  // Room for a request large enough to reach the tool server in several chunks.
  const deployment = new TestDeployment({ maxBodyBytes: 1024 * 1024 });
  const secret = 'example-secret-0123456789';
  let ks: RunningApp;
  let tool: Server;
  let toolUrl: string;

  beforeAll(async () => {
    tool = createToolServer(secret);
    await new Promise<void>((resolve) => tool.listen(0, '127.0.0.1', resolve));
    toolUrl = `http://127.0.0.1:${(tool.address() as AddressInfo).port}`;
    ks = await deployment.killswitch();
  });

  afterAll(async () => {
    await deployment.close();
    await new Promise((resolve) => tool.close(resolve));
  });

  async function submitArchive(typeSecret: string, extra: Record<string, unknown> = {}) {
    await ks.admin.put('/v1/action-types/email.archive', {
      executor: { kind: 'webhook', url: `${toolUrl}/archive`, secret: typeSecret, timeoutMs: 2000 },
      reversible: false,
    });
    const agent = await ks.admin.post('/v1/agents', {
      name: 'mail',
      allowedActions: ['email.archive'],
    });
    const lease = await ks.admin.post(`/v1/agents/${agent.body.id}/leases`, {});
    const agentApi = new Api(ks.url, lease.body.token);
    const submitted = await agentApi.post('/v1/actions', {
      type: 'email.archive',
      params: { messageId: 'm-42', ...extra },
    });
    let action: any;
    await waitFor(async () => {
      action = (await ks.admin.get(`/v1/actions/${submitted.body.id}`)).body;
      return ['succeeded', 'failed'].includes(action.status);
    });
    return action;
  }

  it('accepts requests signed with the shared secret and returns the undo', async () => {
    const action = await submitArchive(secret);
    expect(action).toMatchObject({
      status: 'succeeded',
      result: { archived: 'm-42' },
      undo: { messageId: 'm-42' },
    });
  });

  it('checks the signature of a large body whose characters straddle its chunks', async () => {
    // 300 KB of 3-byte characters arrive in several chunks, some cut inside a character.
    const action = await submitArchive(secret, { note: '€'.repeat(100_000) });
    expect(action).toMatchObject({ status: 'succeeded', undo: { messageId: 'm-42' } });
  });

  it('refuses requests signed with another secret', async () => {
    const action = await submitArchive('not-the-shared-secret');
    expect(action.status).toBe('failed');
    expect(action.error).toMatch(/401/);
  });
});

import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createToolServer } from '../examples/tool-server';
import { RunningApp, TestDeployment } from './support/apps';
import { agentWithLease, registerWebhookType, waitForAction } from './support/factories';

describe('examples/tool-server.ts against the real gate', () => {
  // Room for a request large enough to reach the tool server in several chunks.
  const deployment = new TestDeployment({ maxBodyBytes: 1024 * 1024 });
  const secret = 'example-secret-0123456789';
  let ks: RunningApp;
  let tool: Server;
  let toolUrl: string;
  const logged: string[] = [];

  beforeAll(async () => {
    tool = createToolServer(secret, (line) => logged.push(line));
    await new Promise<void>((resolve) => tool.listen(0, '127.0.0.1', resolve));
    toolUrl = `http://127.0.0.1:${(tool.address() as AddressInfo).port}`;
    ks = await deployment.killswitch();
  });

  afterAll(async () => {
    await deployment.close();
    await new Promise((resolve) => tool.close(resolve));
  });

  async function submitArchive(typeSecret: string, extra: Record<string, unknown> = {}) {
    const signedWith = { url: toolUrl, secret: typeSecret };
    await registerWebhookType(ks.admin, signedWith, 'email.archive', {
      path: '/archive',
      timeoutMs: 2000,
    });
    const { asAgent: agentApi } = await agentWithLease(ks.admin, {
      name: 'mail',
      allowedActions: ['email.archive'],
    });
    const submitted = await agentApi.post('/v1/actions', {
      type: 'email.archive',
      params: { messageId: 'm-42', ...extra },
    });
    return waitForAction(ks.admin, submitted.body.id, {
      until: ['succeeded', 'failed'],
      timeoutMs: 10_000,
    });
  }

  it('accepts requests signed with the shared secret and returns the undo', async () => {
    const action = await submitArchive(secret);
    expect(action).toMatchObject({
      status: 'succeeded',
      result: { archived: 'm-42' },
      undo: { messageId: 'm-42' },
    });
    // One line per request, so that whoever follows the README sees what reached it.
    expect(logged).toContain(`POST /archive ${action.id} messageId="m-42" -> 200`);
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
    expect(logged).toContain('POST /archive -> 401');
  });
});

import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateSecret, type Role } from '@app/auth';
import { RunningApp, TestDeployment } from './support/apps';
import * as factories from './support/factories';
import { Exited, runToEnd } from './support/process';
import { freePort } from './support/redis';

const BIN = join(__dirname, '..', 'bin', 'killswitch');

/**
 * Runs the built CLI as a responder would, with stdin a pipe (never a terminal) that is
 * closed at once, and only the environment given here.
 */
function cli(args: string[], env: { url?: string; key?: string }): Promise<Exited> {
  return runToEnd(
    BIN,
    args,
    {
      ...(env.url === undefined ? {} : { KILLSWITCH_URL: env.url }),
      ...(env.key === undefined ? {} : { KILLSWITCH_API_KEY: env.key }),
    },
    30_000,
  );
}

describe('killswitch CLI', () => {
  const deployment = new TestDeployment();
  let ks: RunningApp;
  /** Runs the CLI against the test deployment with a key (the admin's by default). */
  let as: (key: string) => (args: string[]) => Promise<Exited>;
  let asAdmin: (args: string[]) => Promise<Exited>;

  /** A user whose name and role `whoami` prints. */
  const createUser = (role: Role) => factories.createUser(ks, role, { name: `${role}-cli` });
  /** An agent of the admin's, with only the labels given. */
  const createAgent = (labels: Record<string, string> = {}) =>
    factories.createAgent(ks.admin, { name: 'cli-agent', labels });

  const agentStatus = async (id: string) => (await ks.admin.get(`/v1/agents/${id}`)).body.status;

  beforeAll(async () => {
    ks = await deployment.killswitch();
    as = (key) => (args) => cli(args, { url: ks.url, key });
    asAdmin = as(ks.adminKey);
  });

  afterAll(() => deployment.close());

  describe('errors', () => {
    it('asks for KILLSWITCH_API_KEY when it is not set (exit 2)', async () => {
      const result = await cli(['agents'], { url: ks.url });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe('killswitch: set KILLSWITCH_API_KEY to your API key (ksk_...)\n');
      expect(result.stdout).toBe('');
    });

    it('says the API key was refused on 401 (exit 3)', async () => {
      const result = await as(generateSecret('ksk'))(['whoami']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^killswitch: the API key was refused: .+\n$/);
    });

    it.each(['viewer', 'owner'] as const)(
      'shows the server message when a %s tries revoke --all --yes (exit 3)',
      async (role) => {
        const user = await createUser(role);
        const agent = await createAgent();
        const result = await as(user.apiKey)(['revoke', '--all', '--reason', 'x', '--yes']);
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/^killswitch: your role may not do this: \S.*\n$/);
        expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
        expect(await agentStatus(agent.id)).toBe('active');
      },
    );

    it('tells an owner their role may not, before asking for a confirmation (exit 3)', async () => {
      const user = await createUser('owner');
      const result = await as(user.apiKey)(['revoke', '--label', 'team=infra', '--reason', 'x']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^killswitch: your role may not do this: /);
    });

    it('says it cannot reach a server that does not answer (exit 4)', async () => {
      const url = `http://127.0.0.1:${await freePort()}`;
      const result = await cli(['agents'], { url, key: ks.adminKey });
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(
        new RegExp(`^killswitch: cannot reach killswitch at ${url}: .*ECONNREFUSED.*\\n$`),
      );
    });

    it('prints the server message for other refusals (exit 1)', async () => {
      const result = await asAdmin(['incident', 'inc_0000000000000000', '--no-follow']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^killswitch: \S.*\n$/);
    });

    it.each([
      ['no selector', ['revoke', '--reason', 'x'], /say which agents to revoke/],
      [
        'both --agent and --all',
        ['revoke', '--agent', 'agt_0000000000000000', '--all', '--reason', 'x'],
        /cannot be used with/,
      ],
      ['no --reason', ['revoke', '--all', '--yes'], /--reason/],
      ['a bad --rollback', ['revoke', '--all', '--reason', 'x', '--rollback', 'soon'], /rollback/],
      ['an unknown command', ['stop-everything'], /unknown command/],
    ])('refuses %s as a usage error (exit 2)', async (_, args, message) => {
      const result = await asAdmin(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      // One line, like every other error.
      expect(result.stderr).toMatch(/^killswitch: [^\n]+\n$/);
      expect(result.stdout).toBe('');
    });

    it('documents the exit codes in --help', async () => {
      const result = await cli(['--help'], {});
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Exit codes:/);
      for (const code of [0, 1, 2, 3, 4, 5]) {
        expect(result.stdout).toMatch(new RegExp(`^  ${code}  `, 'm'));
      }
    });
  });

  describe('reading', () => {
    it('pair creates a pairing code for a phone', async () => {
      const user = await createUser('viewer');
      const result = await as(user.apiKey)(['pair']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Pairing code: [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2} /);
      expect(result.stdout).toMatch(/On the phone, open: http\S+#pair=[A-Z2-9]{10}/);
      const json = JSON.parse((await as(user.apiKey)(['pair', '--json'])).stdout);
      expect(json).toMatchObject({ code: expect.stringMatching(/^[A-Z2-9]{10}$/) });
    });

    it('whoami names the key holder and role', async () => {
      const user = await createUser('responder');
      const result = await as(user.apiKey)(['whoami']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`responder-cli (${user.id}), role responder`);
      const json = await as(user.apiKey)(['whoami', '--json']);
      // The CLI identifies itself with X-Killswitch-Client: cli.
      expect(JSON.parse(json.stdout)).toMatchObject({
        userId: user.id,
        role: 'responder',
        via: 'cli',
      });
    });

    it('agents --json lists an agent created through the API', async () => {
      const agent = await createAgent({ team: 'listing' });
      const result = await asAdmin(['agents', '--label', 'team=listing', '--json']);
      expect(result.code).toBe(0);
      const page = JSON.parse(result.stdout);
      expect(page.items).toEqual([expect.objectContaining({ id: agent.id, status: 'active' })]);
      const table = await asAdmin(['agents', '--label', 'team=listing']);
      expect(table.stdout).toMatch(/^ID\s+NAME\s+OWNER\s+STATUS\s+EPOCH\s+LABELS\n/);
      expect(table.stdout).toContain(agent.id);
      expect(table.stdout).toContain('team=listing');
    });
  });

  describe('revoking and incidents', () => {
    it('revoke --agent revokes one agent and names the incident', async () => {
      const agent = await createAgent();
      const result = await asAdmin([
        'revoke',
        '--agent',
        agent.id,
        '--reason',
        'cli single',
        '--no-follow',
      ]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Revoked 1 agent at .+Z\. Incident inc_[0-9a-f]{16}\n$/);
      expect(await agentStatus(agent.id)).toBe('revoked');
    });

    it('counts only the agents it stopped, not those revoked before', async () => {
      const before = await createAgent({ team: 'counted' });
      await createAgent({ team: 'counted' });
      const stop = (args: string[]) => asAdmin(['revoke', ...args, '--reason', 'r', '--no-follow']);
      expect((await stop(['--agent', before.id])).code).toBe(0);

      // A dry run counts the same way.
      const dry = await asAdmin([
        'revoke',
        '--label',
        'team=counted',
        '--reason',
        'r',
        '--dry-run',
      ]);
      expect(dry.stdout).toMatch(
        /^Dry run: would revoke 1 agent: agt_\S+ \(1 more revoked already\)\n$/,
      );
      const again = await stop(['--agent', before.id]);
      expect(again.stdout).toMatch(/^Already revoked at .+Z\. Incident inc_[0-9a-f]{16}\n$/);
      const mixed = await stop(['--label', 'team=counted', '--yes']);
      expect(mixed.code).toBe(0);
      expect(mixed.stdout).toMatch(
        /^Revoked 1 agent at .+Z\. 1 more was already revoked\. Incident inc_[0-9a-f]{16}\n$/,
      );
      const none = await stop(['--label', 'team=counted', '--yes']);
      expect(none.stdout).toMatch(
        /^Nothing to revoke: all 2 agents were already revoked \(the last at .+Z\)\. Incident inc_/,
      );
    });

    it('revoke --label --yes --json revokes exactly the labelled agents', async () => {
      const labelled = [await createAgent({ team: 'x' }), await createAgent({ team: 'x' })];
      const other = await createAgent({ team: 'y' });
      const result = await asAdmin([
        'revoke',
        '--label',
        'team=x',
        '--reason',
        'r',
        '--yes',
        '--json',
      ]);
      expect(result.code).toBe(0);
      const answer = JSON.parse(result.stdout);
      expect(answer.incidentId).toMatch(/^inc_/);
      expect(answer.agents).toBe(2);
      expect([...answer.agentIds].sort()).toEqual(labelled.map((a) => a.id).sort());
      for (const agent of labelled) {
        expect(await agentStatus(agent.id)).toBe('revoked');
      }
      expect(await agentStatus(other.id)).toBe('active');
    });

    it('revoke --dry-run revokes nothing', async () => {
      const agent = await createAgent({ team: 'dry' });
      const result = await asAdmin(['revoke', '--label', 'team=dry', '--reason', 'r', '--dry-run']);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`Dry run: would revoke 1 agent: ${agent.id}\n`);
      expect(await agentStatus(agent.id)).toBe('active');
    });

    it('revoke --all without --yes and without a terminal refuses and revokes nothing', async () => {
      const agent = await createAgent();
      const result = await asAdmin(['revoke', '--all', '--reason', 'r']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^killswitch: refusing to revoke every agent .*--yes/);
      expect(await agentStatus(agent.id)).toBe('active');
    });

    it('follows the incident after a revoke and prints its summary', async () => {
      const agent = await createAgent();
      const result = await asAdmin(['revoke', '--agent', agent.id, '--reason', 'followed']);
      expect(result.code).toBe(0);
      const [first, ...summary] = result.stdout.split('\n');
      const incidentId = /Incident (inc_[0-9a-f]{16})$/.exec(first)?.[1];
      expect(incidentId).toBeDefined();
      const text = summary.join('\n');
      expect(text).toMatch(new RegExp(`^Incident ${incidentId}: (done|resolved)$`, 'm'));
      expect(text).toContain('Reason:    followed');
      expect(text).toMatch(/from cli/);
      expect(text).toMatch(/^Timeline \(\d+\):$/m);
    });

    it('incident --json prints the incident and incidents --json lists it', async () => {
      const agent = await createAgent();
      const revoked = await asAdmin([
        'revoke',
        '--agent',
        agent.id,
        '--reason',
        'to inspect',
        '--json',
      ]);
      const { incidentId } = JSON.parse(revoked.stdout);

      const shown = await asAdmin(['incident', incidentId, '--json']);
      expect(shown.code).toBe(0);
      const incident = JSON.parse(shown.stdout);
      expect(incident).toMatchObject({
        id: incidentId,
        reason: 'to inspect',
        agents: 1,
        agentIds: [agent.id],
        openedFrom: { via: 'cli' },
      });
      expect(['done', 'resolved']).toContain(incident.status);
      expect(incident.progress.done).toBe(incident.progress.total);

      const listed = await asAdmin(['incidents', '--json']);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout).items).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: incidentId })]),
      );
      const table = await asAdmin(['incidents']);
      expect(table.stdout).toMatch(/^ID\s+STATUS\s+OPENED AT\s+BY\s+FROM\s+AGENTS/);
      expect(table.stdout).toContain(incidentId);

      const markdown = await asAdmin(['incident', incidentId, '--md']);
      expect(markdown.code).toBe(0);
      expect(markdown.stdout).toContain(incidentId);
    });
  });

  describe('watching an incident (against a scripted API)', () => {
    // The real follow-up finishes in milliseconds; a scripted API holds an incident open to
    // exercise the watch's bound and its patience with a short outage.
    let server: Server;
    let url: string;
    let answers: { status: number; incidentStatus?: string }[] = [];
    let polls = 0;

    const incident = (status: string) => ({
      id: 'inc_00000000000000aa',
      status,
      reason: 'scripted',
      openedBy: { userId: 'usr_0000000000000001', name: 'Dana', role: 'responder' },
      openedFrom: { via: 'cli' },
      openedAt: new Date().toISOString(),
      agents: 2,
      agentIds: ['agt_0000000000000001', 'agt_0000000000000002'],
      rollback: 'epoch',
      counts: { fenced: 2, halted: 1, aborted: 0, rolledBack: 0, needsReview: 0 },
      progress: { done: status === 'done' ? 2 : 1, total: 2 },
      needsReview: [],
      timeline: [],
    });

    beforeAll(async () => {
      server = createServer((req, res) => {
        const next = answers[Math.min(polls, answers.length - 1)];
        polls++;
        res.writeHead(next.status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            next.incidentStatus
              ? incident(next.incidentStatus)
              : { error: 'unavailable', message: 'Redis is down' },
          ),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    beforeEach(() => {
      polls = 0;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('gives up after --wait with exit 5, saying the follow-up goes on', async () => {
      answers = [{ status: 200, incidentStatus: 'following_up' }];
      const result = await cli(['incident', 'inc_00000000000000aa', '--wait', '1'], {
        url,
        key: 'ksk_scripted',
      });
      expect(result.code).toBe(5);
      expect(result.stdout).toMatch(/^Incident inc_00000000000000aa: following_up$/m);
      expect(result.stderr).toMatch(/1\/2 agents/); // progress, one line per change on a pipe
      expect(result.stderr).toMatch(
        /killswitch: stopped watching after 1 second: .*still following_up.*killswitch incident inc_00000000000000aa\n$/,
      );
    });

    it('keeps watching through a 503 and prints the summary once done', async () => {
      answers = [
        { status: 200, incidentStatus: 'following_up' },
        { status: 503 },
        { status: 200, incidentStatus: 'done' },
      ];
      const result = await cli(['incident', 'inc_00000000000000aa'], {
        url,
        key: 'ksk_scripted',
      });
      expect(result.stderr).toMatch(/retrying: Redis is down/);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Incident inc_00000000000000aa: done$/m);
      expect(result.stdout).toContain('Agents:    2 (follow-up 2/2 done)');
      expect(polls).toBe(3);
    });
  });
});

import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Api } from './http';
import { waitFor } from './redis';

const root = join(__dirname, '../..');

/** A built killswitch running as its own process, so a test can kill it like a crash would. */
export class KillswitchProcess {
  private child?: ChildProcess;
  readonly url: string;
  readonly admin: Api;

  constructor(
    readonly env: Record<string, string>,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.admin = new Api(this.url, env.KILLSWITCH_ADMIN_KEY);
  }

  async start(): Promise<void> {
    this.child = spawn(process.execPath, [join(root, 'dist/apps/killswitch/src/main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        KILLSWITCH_PORT: String(this.port),
        ...this.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(
      async () => {
        try {
          return (await new Api(this.url).get('/health/ready')).status === 200;
        } catch {
          return false;
        }
      },
      20_000,
      'the killswitch process to be ready',
      100,
    );
  }

  /** SIGKILL: no shutdown hooks, no cleanup, exactly like a crash. */
  async crash(): Promise<void> {
    await this.stop('SIGKILL');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Api, waitUntilReady } from './http';

const root = join(__dirname, '../..');

/** The built apps' entry points, as `npm start` runs them. */
export const MAINS = {
  killswitch: join(root, 'dist/apps/killswitch/src/main.js'),
  'mobile-relay': join(root, 'dist/apps/mobile-relay/src/main.js'),
};

export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Node script to its end with only PATH and `env` in its environment, stdin closed at
 * once (a pipe, never a terminal); rejects, having killed it, if it runs past `timeoutMs`.
 */
export function runToEnd(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${[script, ...args].join(' ')} did not end within ${timeoutMs} ms: ${stdout} ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

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
    this.child = spawn(process.execPath, [MAINS.killswitch], {
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        KILLSWITCH_PORT: String(this.port),
        ...this.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitUntilReady(new Api(this.url), 20_000, 'the killswitch process to be ready');
  }

  /** SIGKILL: no shutdown hooks, no cleanup, exactly like a crash. */
  async crash(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /**
   * Sends `signal` and answers how the process ended: a graceful stop re-raises its signal once
   * the shutdown hooks ran (`{code: null, signal: 'SIGTERM'}`); one that overran
   * SHUTDOWN_TIMEOUT_MS exits 1.
   */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null };
    }
    return new Promise((resolve) => {
      child.once('exit', (code, ended) => resolve({ code, signal: ended }));
      child.kill(signal);
    });
  }
}

import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root, found from the compiled file (`dist/bench/lib/`) or the source. */
export const repoRoot = ((up2) => (basename(up2) === 'dist' ? dirname(up2) : up2))(
  join(__dirname, '../..'),
);

/** Absolute path of a compiled file under `dist/`, failing clearly when nothing is built. */
export function built(relativePath: string): string {
  const path = join(repoRoot, 'dist', relativePath);
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: run "npm run build" first (npm run bench does)`);
  }
  return path;
}

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') {
          resolve(address.port);
        } else {
          reject(new Error('no free port'));
        }
      });
    });
  });
}

export interface StartOptions {
  /** Shown in errors and progress lines. */
  name: string;
  /** Compiled entry point (absolute path). */
  script: string;
  /** Variables of the child on top of a minimal environment (PATH, HOME, TMPDIR). */
  env: Record<string, string>;
  /** Extra `node` flags, such as `--require <preload>`. */
  nodeArgs?: string[];
  /** Bound on start-up, until the child prints `<name> listening on <url>`. */
  startTimeoutMs?: number;
}

/** A built app running in a child process, listening on loopback. */
export interface ChildApp {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** The last lines the child wrote (stdout and stderr), for error messages. */
  output(): string;
  /**
   * CPU time (user + system, seconds) the child has used so far, from /proc; undefined where
   * there is no /proc (not Linux).
   */
  cpuSeconds(): number | undefined;
  /** Sends a signal (SIGWINCH drives the CPU profiler of `--cpu-prof`). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the first line the child writes from now on that matches. */
  nextLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL if the child is not gone within the bound. */
  stop(timeoutMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

// USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux build that matters.
const CLOCK_TICKS = 100;

/** User + system CPU seconds of a process, from /proc/<pid>/stat (fields 14 and 15). */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) {
    return undefined;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

// Last resort when the harness dies without cleaning up (an uncaught error, process.exit):
// no benchmark server may outlive it.
process.on('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

function childEnv(env: Record<string, string>): Record<string, string> {
  // Only what node needs to run: a variable the user happened to export (LOG_LEVEL=debug,
  // NODE_OPTIONS=--inspect) must not change what is measured.
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR']) {
    const value = process.env[name];
    if (value) {
      base[name] = value;
    }
  }
  return { ...base, ...env };
}

/**
 * Starts a compiled app (one that prints `<name> listening on <url>` through `runMain`) and
 * resolves once it listens. Its output is read continuously (a full pipe would stall it) and
 * the last lines are kept for error messages.
 */
export function startChild(options: StartOptions): Promise<ChildApp> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    cwd: repoRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  const output = () => lines.join('\n');
  const watchers = new Set<(line: string) => void>();
  const nextLine = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watch);
        reject(new Error(`${options.name} wrote no line matching ${pattern} in ${timeoutMs} ms`));
      }, timeoutMs);
      const watch = (line: string) => {
        const match = pattern.exec(line);
        if (match) {
          clearTimeout(timer);
          watchers.delete(watch);
          resolve(match);
        }
      };
      watchers.add(watch);
    });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });

  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      if ((await Promise.race([exited, late])) === 'late') {
        child.kill('SIGKILL');
        await exited;
      }
    } finally {
      clearTimeout(timer);
    }
  };

  return new Promise<ChildApp>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        void stop(2000).finally(() =>
          reject(new Error(`${options.name} did not start: ${reason}\n${output()}`)),
        );
      }
    };
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => fail(`not listening after ${timeoutMs} ms`), timeoutMs);
    const listening = /listening on (http:\/\/\S+)/;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 40) {
          lines.shift();
        }
        for (const watch of [...watchers]) {
          watch(line);
        }
        const match = listening.exec(line);
        if (match && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve({
            name: options.name,
            url: match[1].replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:'),
            pid: child.pid ?? -1,
            output,
            cpuSeconds: () => cpuSecondsOf(child.pid),
            signal: (name) => child.kill(name),
            nextLine,
            stop,
          });
        }
      });
    }
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
  });
}

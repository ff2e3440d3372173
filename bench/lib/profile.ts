import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { built, type ChildApp } from './processes';
import { count, formatTable } from './report';

/** What to add to a child's start to let {@link profileDuring} profile it. */
export function cpuProfiling(directory: string | undefined): {
  nodeArgs: string[];
  env: Record<string, string>;
} {
  if (!directory) {
    return { nodeArgs: [], env: {} };
  }
  return {
    nodeArgs: ['--require', built('bench/lib/cpu-profile.js')],
    env: { BENCH_CPU_PROFILE_DIR: resolve(directory) },
  };
}

/**
 * Turns the child's CPU profiler on (the child must have been started with
 * {@link cpuProfiling}); the function it returns turns it off and answers the profile's path.
 */
export function startProfiling(app: ChildApp): () => Promise<string> {
  app.signal('SIGWINCH');
  return async () => {
    const written = app.nextLine(/cpu-profile: wrote (\S+)/, 30_000);
    app.signal('SIGWINCH');
    return (await written)[1];
  };
}

/**
 * Runs `work` with the child's CPU profiler on (see {@link startProfiling}).
 *
 * @returns the work's result and the profile's path.
 */
export async function profileDuring<T>(
  app: ChildApp,
  work: () => Promise<T>,
): Promise<{ result: T; file: string }> {
  const stop = startProfiling(app);
  const result = await work();
  return { result, file: await stop() };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
}

/** Where a script comes from: a package, one of our libs or apps, Node itself, or V8. */
export function origin(url: string): string {
  if (url === '') {
    return '(V8 / native)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) {
    return pkg[1];
  }
  const own = /\/dist\/((?:libs|apps)\/[^/]+)/.exec(url);
  if (own) {
    return own[1];
  }
  return url.startsWith('node:') ? 'node (core)' : url;
}

/**
 * Summarizes a V8 CPU profile by self time: the share of samples spent in each origin
 * (package, lib, Node core) and in the hottest functions.
 */
export function summarizeProfile(file: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1;
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) {
      continue;
    }
    const { functionName, url, lineNumber } = node.callFrame;
    const where = origin(url);
    byOrigin.set(where, (byOrigin.get(where) ?? 0) + hits);
    const name = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  }
  const share = (hits: number) => `${((hits / total) * 100).toFixed(1)}%`;
  const rank = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => [name, share(hits)]);
  return [
    `CPU profile ${file} (${count(total)} samples), self time by origin:`,
    formatTable(['origin', 'self'], rank(byOrigin)),
    '',
    'Hottest functions (self time):',
    formatTable(['function', 'self'], rank(byFunction)),
  ].join('\n');
}

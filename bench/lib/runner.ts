import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@app/config';

/** Load settings shared by every benchmark; each one uses those that apply to it. */
export interface BenchSettings {
  /** Seconds measured per run. */
  duration: number;
  /** Seconds of load thrown away before each measured run. */
  warmup: number;
  /** Measured runs per target; the best one counts (noise on a shared machine only slows). */
  rounds: number;
  /** Concurrent HTTP connections of the load generator. */
  connections: number;
  /** Agents (each with a lease) the benchmark creates. */
  agents: number;
  /** LOG_LEVEL of the killswitch under test. */
  logLevel: string;
  /** When set, the killswitch under test writes a V8 CPU profile into this directory. */
  cpuProfileDir?: string;
}

/** A numeric option of one benchmark (`--<name> <n>`), beside the shared settings. */
export interface BenchOption {
  description: string;
  default: number;
}

/** What a benchmark gets from the harness. */
export interface BenchContext {
  readonly name: string;
  readonly redisUrl: string;
  readonly settings: BenchSettings;
  /**
   * The benchmark's own options (see {@link Benchmark.options}): the value given on the command
   * line, else the benchmark's default.
   */
  readonly options: Readonly<Record<string, number>>;
  /** Aborts on Ctrl-C and at the benchmark's deadline: stop and return. */
  readonly signal: AbortSignal;
  /** A progress line (stderr). */
  log(message: string): void;
  /** Result output (stdout). */
  print(text: string): void;
  /**
   * Registers clean-up work (stop a child process, delete a key prefix). It runs when the
   * benchmark ends, however it ends, in reverse order of registration.
   */
  defer(label: string, cleanup: () => unknown): void;
}

/** A benchmark: `bench/<name>/<name>.bench.ts` exporting `benchmark`. */
export interface Benchmark {
  description: string;
  /**
   * Options of this benchmark only. One may share the name of a shared setting (`agents`) to
   * give it another default here; the shared setting keeps its own default elsewhere.
   */
  options?: Record<string, BenchOption>;
  /** Rough length in seconds for these settings; the harness aborts well after it. */
  estimateSeconds(settings: BenchSettings, options: Readonly<Record<string, number>>): number;
  run(context: BenchContext): Promise<void>;
}

const defaults: BenchSettings = {
  duration: 10,
  warmup: 3,
  rounds: 2,
  connections: 100,
  agents: 200,
  logLevel: 'warn',
};

const usage = `Usage: node bench/run.js [name...] [options]   (after npm run build)

Runs the named benchmarks (all of them when none is named) against the built apps.

Options:
  --duration <s>      seconds measured per run            (default ${defaults.duration})
  --warmup <s>        seconds of load thrown away first   (default ${defaults.warmup})
  --rounds <n>        measured runs per target, best kept (default ${defaults.rounds})
  --connections <n>   concurrent connections              (default ${defaults.connections})
  --agents <n>        agents with a lease to create       (default ${defaults.agents})
  --log-level <l>     LOG_LEVEL of the app under test     (default ${defaults.logLevel})
  --cpu-prof <dir>    write a V8 CPU profile of the app under test into <dir>
  --list              list the benchmarks
  --help              this text`;

/** The compiled benchmarks, found by convention: `dist/bench/<name>/<name>.bench.js`. */
function discover(): Map<string, string> {
  const root = join(__dirname, '..');
  const found = new Map<string, string>();
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const file = join(root, entry.name, `${entry.name}.bench.js`);
    if (entry.isDirectory() && existsSync(file)) {
      found.set(entry.name, file);
    }
  }
  return found;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new Error(`--${name} must be a positive number (got "${value}")`);
  }
  return parsed;
}

function parse(argv: string[], extra: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...Object.fromEntries(extra.map((name) => [name, { type: 'string' as const }])),
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      agents: { type: 'string' },
      'log-level': { type: 'string' },
      'cpu-prof': { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const settings: BenchSettings = {
    duration: positive('duration', values.duration, defaults.duration),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, defaults.warmup),
    rounds: Math.ceil(positive('rounds', values.rounds, defaults.rounds)),
    connections: Math.ceil(positive('connections', values.connections, defaults.connections)),
    agents: Math.ceil(positive('agents', values.agents, defaults.agents)),
    logLevel: values['log-level'] ?? defaults.logLevel,
    cpuProfileDir: values['cpu-prof'],
  };
  // Every option as given (shared ones too: a benchmark may give one a default of its own).
  const given: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    given[name] = typeof value === 'string' ? value : undefined;
  }
  return { settings, given, names: positionals, list: values.list, help: values.help };
}

/** A benchmark's own options: what the command line gave, else the benchmark's defaults. */
function optionsOf(
  benchmark: Benchmark,
  given: Record<string, string | undefined>,
): Record<string, number> {
  const options: Record<string, number> = {};
  for (const [name, option] of Object.entries(benchmark.options ?? {})) {
    options[name] = positive(name, given[name], option.default);
  }
  return options;
}

async function load(file: string): Promise<Benchmark> {
  return ((await import(file)) as { benchmark: Benchmark }).benchmark;
}

async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not done after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function runOne(
  name: string,
  benchmark: Benchmark,
  settings: BenchSettings,
  options: Record<string, number>,
  redisUrl: string,
  interrupted: AbortSignal,
): Promise<boolean> {
  const estimate = benchmark.estimateSeconds(settings, options);
  const deadlineSeconds = estimate * 1.5 + 120;
  const signal = AbortSignal.any([
    interrupted,
    AbortSignal.timeout(Math.ceil(deadlineSeconds * 1000)),
  ]);
  const cleanups: { label: string; cleanup: () => unknown }[] = [];
  const log = (message: string) => process.stderr.write(`[${name}] ${message}\n`);
  const context: BenchContext = {
    name,
    redisUrl,
    settings,
    options,
    signal,
    log,
    print: (text) => process.stdout.write(`${text}\n`),
    defer: (label, cleanup) => cleanups.push({ label, cleanup }),
  };
  log(`${benchmark.description} (about ${Math.round(estimate)} s)`);
  let ok = true;
  try {
    await benchmark.run(context);
    signal.throwIfAborted();
  } catch (error) {
    ok = false;
    const reason = signal.aborted ? signal.reason : error;
    const message =
      reason instanceof Error && reason.name === 'TimeoutError'
        ? `stopped after its deadline of ${Math.round(deadlineSeconds)} s`
        : reason instanceof Error
          ? signal.aborted
            ? reason.message
            : (reason.stack ?? reason.message)
          : String(reason);
    log(`failed: ${message}`);
  } finally {
    for (const { label, cleanup } of cleanups.reverse()) {
      try {
        await bounded(Promise.resolve().then(cleanup), 20_000);
      } catch (error) {
        ok = false;
        log(
          `clean-up "${label}" failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }
  return ok;
}

/**
 * The entry point behind `node bench/run.js`: runs the named benchmarks one after another,
 * each bounded in time and cleaned up however it ends.
 *
 * @returns the process exit code.
 */
export async function main(argv: string[]): Promise<number> {
  const available = discover();
  // Loaded up front for their options; one that fails to load fails only if it is run.
  const benchmarks = new Map<string, Benchmark>();
  const broken = new Map<string, string>();
  for (const [name, file] of available) {
    try {
      benchmarks.set(name, await load(file));
    } catch (error) {
      broken.set(name, error instanceof Error ? error.message : String(error));
    }
  }
  const shared = new Set(['duration', 'warmup', 'rounds', 'connections', 'agents', 'log-level']);
  const own = [...benchmarks].flatMap(([name, benchmark]) =>
    Object.entries(benchmark.options ?? {}).map(([option, spec]) => ({ name, option, spec })),
  );
  const extra = [...new Set(own.map((o) => o.option).filter((o) => !shared.has(o)))];
  // The longest `<option> <n>`, and two spaces: the descriptions line up.
  const optionWidth = Math.max(22, ...own.map(({ option }) => option.length + 6));
  const help = [
    usage,
    ...(own.length > 0 ? ['', 'Options of one benchmark:'] : []),
    ...own.map(
      ({ name, option, spec }) =>
        `  --${`${option} <n>`.padEnd(optionWidth)}${name}: ${spec.description} (default ${spec.default})`,
    ),
  ].join('\n');
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv, extra);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${help}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (parsed.list) {
    process.stdout.write(`${[...available.keys()].join('\n')}\n`);
    return 0;
  }
  const names = parsed.names.length > 0 ? parsed.names : [...available.keys()];
  const unknown = names.filter((name) => !available.has(name));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown benchmark ${unknown.join(', ')}; there are: ${[...available.keys()].join(', ')}\n`,
    );
    return 2;
  }

  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) {
      // Second Ctrl-C: leave now; the exit hook still kills the child processes.
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping and cleaning up (again to leave at once)\n`);
    interrupt.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { redisUrl } = loadConfig(process.env);
    let ok = true;
    for (const name of names) {
      if (interrupt.signal.aborted) {
        break;
      }
      const benchmark = benchmarks.get(name);
      if (!benchmark) {
        process.stderr.write(`[${name}] cannot be loaded: ${broken.get(name) ?? 'unknown'}\n`);
        ok = false;
        continue;
      }
      let options: Record<string, number>;
      try {
        options = optionsOf(benchmark, parsed.given);
      } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        return 2;
      }
      ok =
        (await runOne(name, benchmark, parsed.settings, options, redisUrl, interrupt.signal)) && ok;
    }
    return interrupt.signal.aborted ? 130 : ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

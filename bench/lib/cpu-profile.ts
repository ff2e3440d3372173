/**
 * Preloaded into an app under test (`node --require dist/bench/lib/cpu-profile.js main.js`)
 * when a benchmark runs with `--cpu-prof <dir>`. The first SIGWINCH starts V8's sampling
 * profiler, the second writes `<dir>/<pid>-<n>.cpuprofile` (Chrome DevTools format), so the
 * profile covers the measured load only, not start-up or fixtures. Node's own `--cpu-prof`
 * cannot do that, and writes nothing when the process ends by a signal, as Nest's shutdown
 * hooks make it do. SIGWINCH because Nest's `enableShutdownHooks()` shuts the app down on
 * SIGUSR2 (and SIGUSR1 opens Node's inspector); without this preload it is ignored. The
 * directory comes from BENCH_CPU_PROFILE_DIR.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const directory = process.env.BENCH_CPU_PROFILE_DIR;

if (directory) {
  const session = new Session();
  session.connect();
  let profiling = false;
  let written = 0;
  process.on('SIGWINCH', () => {
    if (!profiling) {
      profiling = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 100 }, () =>
          session.post('Profiler.start'),
        ),
      );
      return;
    }
    profiling = false;
    session.post('Profiler.stop', (error, result) => {
      if (error) {
        process.stderr.write(`cpu-profile: ${error.message}\n`);
        return;
      }
      mkdirSync(directory, { recursive: true });
      const file = join(directory, `${process.pid}-${++written}.cpuprofile`);
      writeFileSync(file, JSON.stringify(result.profile));
      process.stderr.write(`cpu-profile: wrote ${file}\n`);
    });
  });
}

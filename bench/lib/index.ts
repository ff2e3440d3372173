/** Shared helpers of the benchmarks under `bench/` (see bench/README.md). */
export type { Benchmark, BenchContext, BenchOption, BenchSettings } from './runner';
export { Api, inParallel, type Reply } from './http';
export {
  createLeasedAgents,
  createUser,
  newAdminKey,
  queueRoomFor,
  startApiAndWorkers,
  startKillswitch,
  type BenchUser,
  type KillswitchOptions,
  type KillswitchProcess,
  type LeasedAgent,
  type Role,
} from './killswitch';
export { runLoad, type LoadOptions, type LoadResult } from './load';
export {
  built,
  cpuSecondsOf,
  freePort,
  repoRoot,
  startChild,
  type ChildApp,
  type StartOptions,
} from './processes';
export { cpuProfiling, profileDuring, startProfiling, summarizeProfile } from './profile';
export {
  benchPrefix,
  claimPrefix,
  countPrefix,
  commandStats,
  commandStatsBetween,
  deletePrefix,
  harnessConnection,
  harnessQueues,
  redisCpuSeconds,
  redisVersion,
  setKey,
  watchSlowlog,
  withRedis,
  type SlowCommand,
} from './redis';
export { KeepAliveClient, type SendOptions, type Timed } from './keepalive';
export { distribution, fineMs, percentile, waitUntil, type Distribution } from './stats';
export { count, formatTable, hardwareLine, ms, percent } from './report';

/** What the actions benchmark and its plain BullMQ worker agree on. */

/** The baseline's queue, under the same `<prefix>:{bull}` prefix as killswitch's queues. */
export const PLAIN_QUEUE = 'plain';

/** The action type registered for the run: the gate's no-op executor. */
export const NOOP_TYPE = 'bench.noop';

/** The target: the gate costs at most 15% of plain BullMQ's throughput. */
export const TARGET_RATIO = 0.85;

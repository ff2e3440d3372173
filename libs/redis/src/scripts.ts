import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

/**
 * Registers a Lua script on a connection. ioredis sends it by SHA (EVALSHA) and falls back to
 * EVAL once after a Redis restart flushed the script cache, so the text is read from disk once.
 *
 * @param file - absolute path of the `.lua` file, next to the repository that calls it.
 */
export function defineScript(
  client: Redis,
  name: string,
  file: string,
  numberOfKeys: number,
): void {
  if (typeof (client as unknown as Record<string, unknown>)[name] === 'function') {
    return;
  }
  client.defineCommand(name, { lua: readFileSync(file, 'utf8'), numberOfKeys });
}

/** Calls a script registered with {@link defineScript}. */
export function runScript<T>(
  client: Redis,
  name: string,
  keys: string[],
  args: (string | number)[],
): Promise<T> {
  const command = (client as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[
    name
  ];
  if (typeof command !== 'function') {
    throw new Error(`Lua script ${name} was not defined on this connection`);
  }
  return command.call(client, ...keys, ...args);
}

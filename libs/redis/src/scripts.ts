import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

/**
 * Registers a Lua script on a connection. ioredis sends it by SHA (EVALSHA) and falls back to
 * EVAL once after a Redis restart flushed the script cache, so the text is read from disk once.
 *
 * @param file - absolute path of the `.lua` file, next to the repository that calls it.
 * @param numberOfKeys - how many KEYS every call passes, or `'any'` for scripts that take a
 *   batch (runScript then sends the count with each call).
 */
export function defineScript(
  client: Redis,
  name: string,
  file: string,
  numberOfKeys: number | 'any',
): void {
  if (typeof (client as unknown as Record<string, unknown>)[name] === 'function') {
    return;
  }
  if (numberOfKeys === 'any') {
    client.defineCommand(name, { lua: readFileSync(file, 'utf8') });
    const names = anyKeys.get(client) ?? new Set<string>();
    names.add(name);
    anyKeys.set(client, names);
    return;
  }
  client.defineCommand(name, { lua: readFileSync(file, 'utf8'), numberOfKeys });
}

/** Scripts defined with `numberOfKeys: 'any'`, per connection. */
const anyKeys = new WeakMap<Redis, Set<string>>();

/** The arguments of one call of a script. */
function scriptArgs(
  client: Redis,
  name: string,
  keys: string[],
  args: (string | number)[],
): (string | number)[] {
  return anyKeys.get(client)?.has(name) ? [keys.length, ...keys, ...args] : [...keys, ...args];
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
  return command.call(client, ...scriptArgs(client, name, keys, args));
}

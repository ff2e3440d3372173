import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis from 'ioredis';

/**
 * Registers a Lua script on a connection. ioredis sends it by SHA (EVALSHA) and falls back to
 * EVAL once after a Redis restart flushed the script cache, so the text is read from disk once.
 *
 * A line `--- @include "other.lua"` is replaced by that file (beside this one), so that steps
 * several scripts share (releasing an agent's next action, halting one) are written once.
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
  const lua = readScript(file);
  if (numberOfKeys === 'any') {
    client.defineCommand(name, { lua });
    const names = anyKeys.get(client) ?? new Set<string>();
    names.add(name);
    anyKeys.set(client, names);
    return;
  }
  client.defineCommand(name, { lua, numberOfKeys });
}

/** A script's text with its `--- @include "file.lua"` lines expanded. */
export function readScript(file: string, including: string[] = []): string {
  if (including.includes(file)) {
    throw new Error(`Lua include cycle: ${[...including, file].join(' -> ')}`);
  }
  return readFileSync(file, 'utf8').replace(/^--- @include "([^"]+)"$/gm, (_line, name: string) =>
    readScript(join(dirname(file), name), [...including, file]).trimEnd(),
  );
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

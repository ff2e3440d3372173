import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis from 'ioredis';

/**
 * Registers a Lua script on a connection. ioredis sends it by SHA (EVALSHA) and falls back to
 * EVAL once after a Redis restart flushed the script cache, so the text is read from disk once.
 * {@link runScript} sends the number of KEYS with each call, so one script may take a batch.
 *
 * A line `--- @include "other.lua"` is replaced by that file (beside this one), so that steps
 * several scripts share (releasing an agent's next action, halting one) are written once.
 *
 * @param file - absolute path of the `.lua` file, next to the repository that calls it.
 */
export function defineScript(client: Redis, name: string, file: string): void {
  if (typeof (client as unknown as Record<string, unknown>)[name] === 'function') {
    return;
  }
  client.defineCommand(name, { lua: readScript(file) });
}

/** A script's text with its `--- @include "file.lua"` lines expanded. */
function readScript(file: string, including: string[] = []): string {
  if (including.includes(file)) {
    throw new Error(`Lua include cycle: ${[...including, file].join(' -> ')}`);
  }
  return readFileSync(file, 'utf8').replace(/^--- @include "([^"]+)"$/gm, (_line, name: string) =>
    readScript(join(dirname(file), name), [...including, file]).trimEnd(),
  );
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
  return command.call(client, keys.length, ...keys, ...args);
}

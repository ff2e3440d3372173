import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Redis from 'ioredis';

interface Script {
  lua: string;
  sha: string;
}

/** The scripts registered on each connection, by name. */
const registered = new WeakMap<Redis, Map<string, Script>>();

/**
 * Registers a Lua script on a connection; {@link runScript} sends it by SHA (EVALSHA), and with
 * its text (EVAL, which caches it in Redis again) when Redis answers NOSCRIPT after a restart
 * flushed its script cache. The text is read from disk once. The number of KEYS goes with each
 * call, so one script may take a batch.
 *
 * Not ioredis' `defineCommand`: every `pipeline()` or `multi()` copies each command defined that
 * way onto itself, which with the 28 scripts of the time made a pipeline three to four times
 * dearer to create (16–18 µs against 5 µs) and was a tenth of the mobile relay's CPU under a
 * bulk stop.
 *
 * A line `--- @include "other.lua"` is replaced by that file (beside this one), so that steps
 * several scripts share (releasing an agent's next action, halting one) are written once.
 *
 * @param client - the connection that will run it (each connection registers its own).
 * @param name - what {@link runScript} calls it by.
 * @param file - absolute path of the `.lua` file, next to the repository that calls it.
 */
export function defineScript(client: Redis, name: string, file: string): void {
  let scripts = registered.get(client);
  if (!scripts) {
    scripts = new Map();
    registered.set(client, scripts);
  }
  if (scripts.has(name)) {
    return;
  }
  const lua = readScript(file);
  scripts.set(name, { lua, sha: createHash('sha1').update(lua).digest('hex') });
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

/**
 * Calls a script registered with {@link defineScript} on this connection.
 *
 * @param keys - its KEYS (their number is sent with them).
 * @param args - its ARGV.
 * @param options.withText - send the text (EVAL) rather than the SHA: the script then never
 *   answers NOSCRIPT, so it runs before any command sent after it on the connection, whatever
 *   Redis' script cache holds (by SHA, a NOSCRIPT retry would run it after them). For small
 *   scripts whose order is what matters (a stop's record, sent before its fence).
 * @returns the script's reply, as ioredis decodes it.
 */
export async function runScript<T>(
  client: Redis,
  name: string,
  keys: string[],
  args: (string | number)[],
  options: { withText?: boolean } = {},
): Promise<T> {
  const script = registered.get(client)?.get(name);
  if (!script) {
    throw new Error(`Lua script ${name} was not defined on this connection`);
  }
  if (options.withText) {
    return (await client.eval(script.lua, keys.length, ...keys, ...args)) as T;
  }
  try {
    return (await client.evalsha(script.sha, keys.length, ...keys, ...args)) as T;
  } catch (error) {
    // Redis lost its script cache (a restart, SCRIPT FLUSH): nothing ran, so sending the text
    // runs it once and caches it for the next EVALSHA.
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return (await client.eval(script.lua, keys.length, ...keys, ...args)) as T;
    }
    throw error;
  }
}

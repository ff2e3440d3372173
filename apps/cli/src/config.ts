import { CliError, EXIT } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface CliConfig {
  /** Base URL of the killswitch API, without a trailing slash. */
  url: string;
  apiKey: string;
}

/**
 * Reads KILLSWITCH_URL and KILLSWITCH_API_KEY (the only environment the CLI reads).
 * Empty values count as unset, as in the server's configuration.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const rawUrl = env.KILLSWITCH_URL?.trim() || DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    throw new CliError(
      `KILLSWITCH_URL must be a URL such as ${DEFAULT_URL} (got "${rawUrl}")`,
      EXIT.usage,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(
      `KILLSWITCH_URL must start with http:// or https:// (got "${rawUrl}")`,
      EXIT.usage,
    );
  }
  const apiKey = env.KILLSWITCH_API_KEY?.trim();
  if (!apiKey) {
    throw new CliError('set KILLSWITCH_API_KEY to your API key (ksk_...)', EXIT.usage);
  }
  return { url: rawUrl.replace(/\/+$/, ''), apiKey };
}

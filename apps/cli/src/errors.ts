/** Exit codes of `killswitch`, documented in its --help. */
export const EXIT = {
  ok: 0,
  /** The server refused the request or failed (any other 4xx/5xx), or the user said no. */
  failed: 1,
  /** Usage: bad flags, missing KILLSWITCH_API_KEY, confirmation needed but no terminal. */
  usage: 2,
  /** The API key was refused (401) or its role may not do this (403). */
  denied: 3,
  /** The server could not be reached. */
  unreachable: 4,
  /** Stopped watching an incident whose follow-up had not finished (it goes on server-side). */
  stillRunning: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line on stderr, with its exit code; never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The help text's "Exit codes" section. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  the server refused or failed (its message is printed), or you answered no
  2  usage error: bad flags, KILLSWITCH_API_KEY not set, confirmation needed without a terminal
  3  the API key was refused (401) or your role may not do this (403)
  4  the server could not be reached
  5  stopped watching an incident before its follow-up finished (it goes on server-side)`;

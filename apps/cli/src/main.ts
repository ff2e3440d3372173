import { CommanderError } from 'commander';
import { CliError, EXIT } from './errors';
import { buildProgram } from './program';

/** Runs `killswitch` with `argv` (as process.argv) and resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram({
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  });
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`killswitch: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`killswitch: unexpected error: ${message}\n`);
    return EXIT.failed;
  }
}

// `killswitch agents | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') {
    process.exit(process.exitCode ?? 0);
  }
  throw error;
});

void run(process.argv).then((code) => {
  process.exitCode = code;
});

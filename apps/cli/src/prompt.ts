import { createInterface } from 'node:readline';

/**
 * Asks a yes/no question on the terminal; only "y" or "yes" is a yes. Ctrl-C or end of input
 * is a no.
 */
export function confirm(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, output });
    let answered = false;
    const finish = (yes: boolean) => {
      if (!answered) {
        answered = true;
        rl.close();
        resolve(yes);
      }
    };
    rl.on('SIGINT', () => {
      output.write('\n');
      finish(false);
    });
    rl.on('close', () => finish(false));
    rl.question(question, (answer) => finish(/^\s*y(es)?\s*$/i.test(answer)));
  });
}

#!/usr/bin/env node
// `npm run bench` (which builds first) or `node bench/run.js [name...] [options]`: runs the
// benchmarks under bench/ against the built apps. Plain JavaScript, so that it runs as it is;
// the harness itself is TypeScript, compiled with the rest to dist/bench/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const runner = join(__dirname, '..', 'dist', 'bench', 'lib', 'runner.js');
if (!existsSync(runner)) {
  process.stderr.write(
    `${runner} does not exist: run "npm run build" first (npm run bench does)\n`,
  );
  process.exit(1);
}

require(runner)
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );

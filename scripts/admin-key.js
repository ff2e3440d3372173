#!/usr/bin/env node
// `npm run admin-key [-- usr_…]`: a new API key for an admin (apps/killswitch/src/admin-key.ts).
// Runs the built code without rebuilding it: a rebuild would pull dist/ from under a running
// service, which is when a lost key is usually noticed.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'apps', 'killswitch', 'src', 'admin-key.js');
if (!existsSync(built)) {
  process.stderr.write('admin-key: killswitch is not built yet: run `npm run build` first\n');
  process.exit(1);
}
require(built);

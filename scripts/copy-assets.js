// Copies the files tsc does not emit (Lua scripts, the phone page) next to the compiled code.
const { cpSync, readdirSync, statSync, mkdirSync } = require('node:fs');
const { join, dirname, relative } = require('node:path');

const root = join(__dirname, '..');
const wanted = /\.(lua|html|css|svg|webmanifest|png|ico)$/;
const skip = new Set(['node_modules', 'dist', '.git', '.data', 'coverage']);

function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (wanted.test(name) || dir.split('/').includes('public')) {
      const target = join(root, 'dist', relative(root, path));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
    }
  }
}

for (const top of ['apps', 'libs']) walk(join(root, top));

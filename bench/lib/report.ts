import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { redisVersion } from './redis';

/** Where the numbers came from: CPU, memory, Node, Redis and the load generator. */
export async function hardwareLine(redisUrl: string): Promise<string> {
  const cores = cpus();
  const model = cores[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const memory = (totalmem() / 1024 ** 3).toFixed(1);
  const autocannon = (
    JSON.parse(readFileSync(require.resolve('autocannon/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  return [
    `${cores.length} x ${model}`,
    `${memory} GiB RAM`,
    `${type()} ${release()}`,
    `Node ${process.version}`,
    `Redis ${await redisVersion(redisUrl)}`,
    `autocannon ${autocannon}`,
  ].join(', ');
}

/** A fixed-width text table; numbers are right-aligned, the first column left-aligned. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

/** Thousands separators, no decimals: 12345.6 → "12,346". */
export const count = (value: number): string => Math.round(value).toLocaleString('en-US');

/** Milliseconds with a unit: 3 → "3 ms". */
export const ms = (value: number): string => `${value} ms`;

/** A ratio as a percentage with one decimal: 0.7312 → "73.1%". */
export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

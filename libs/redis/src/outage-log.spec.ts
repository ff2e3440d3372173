import { outageAwareWarning } from './outage-log';

describe('outageAwareWarning', () => {
  const setup = () => {
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    let clock = 0;
    const warn = outageAwareWarning(
      { warn: (fields, message) => lines.push({ fields: fields as never, message }) },
      'Gate sweep failed',
      60_000,
      () => clock,
    );
    return { lines, warn, tick: (ms: number) => (clock += ms) };
  };
  const away = () => new Error('connect ECONNREFUSED 127.0.0.1:6379');

  it('writes one line a minute while Redis is away, saying how many it left out', () => {
    const { lines, warn, tick } = setup();
    for (let i = 0; i < 30; i++) {
      warn(away());
      tick(2000);
    }
    warn(away());
    expect(lines.map((l) => l.message)).toEqual([
      'Gate sweep failed: Redis cannot serve (such failures are logged once a minute meanwhile)',
      'Gate sweep failed: Redis cannot serve (29 more such failures since the last line)',
    ]);
    expect(lines[1].fields).toEqual({
      reason: 'connect ECONNREFUSED 127.0.0.1:6379',
      leftOut: 29,
    });
  });

  it('writes every other failure in full, whatever Redis does', () => {
    const { lines, warn } = setup();
    const bug = new TypeError('x is undefined');
    warn(away());
    warn(bug);
    warn(bug);
    warn(new Error('OOM command not allowed when used memory > maxmemory'));
    expect(lines.map((l) => l.fields.err)).toEqual([undefined, bug, bug]);
  });
});

import { nestsDeeperThan } from './json-body';

describe('nestsDeeperThan', () => {
  /** `depth` arrays inside one another, innermost holding `leaf`. */
  const arrays = (depth: number, leaf: unknown = 1): unknown =>
    JSON.parse(`${'['.repeat(depth)}${JSON.stringify(leaf)}${']'.repeat(depth)}`);

  it('counts the body itself as the first level, arrays and objects alike', () => {
    expect(nestsDeeperThan(arrays(3), 3)).toBe(false);
    expect(nestsDeeperThan(arrays(4), 3)).toBe(true);
    expect(nestsDeeperThan({ a: { b: { c: 1 } } }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: { b: { c: {} } } }, 3)).toBe(true);
    expect(nestsDeeperThan({ a: [{ b: [] }] }, 3)).toBe(true);
  });

  it('counts containers, empty ones too, but not scalars or strings of brackets', () => {
    for (const value of [null, 1, 'x', true, '[[[[[[', undefined]) {
      expect(nestsDeeperThan(value, 0)).toBe(false);
    }
    expect(nestsDeeperThan(arrays(2, '[[[[{{{{'), 2)).toBe(false);
    expect(nestsDeeperThan([[], {}], 2)).toBe(false);
    expect(nestsDeeperThan([[]], 1)).toBe(true);
  });

  it('finds one deep branch among many shallow ones', () => {
    const wide: unknown[] = Array.from({ length: 1000 }, (_, i) => ({ i }));
    expect(nestsDeeperThan(wide, 2)).toBe(false);
    wide[500] = { i: arrays(2) };
    expect(nestsDeeperThan(wide, 2)).toBe(true);
  });

  it('walks bodies far deeper than the stack would allow, without recursion', () => {
    expect(nestsDeeperThan(arrays(100_000), 64)).toBe(true);
  });
});

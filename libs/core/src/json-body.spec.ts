import { jsonTextProblem } from './json-body';

describe('jsonTextProblem', () => {
  /** `depth` arrays inside one another, innermost holding `leaf`. */
  const arrays = (depth: number, leaf: unknown = 1): string =>
    `${'['.repeat(depth)}${JSON.stringify(leaf)}${']'.repeat(depth)}`;
  const tooDeep = (text: string, limit: number) => {
    const problem = jsonTextProblem(text, limit);
    return problem !== undefined && 'tooDeep' in problem;
  };

  describe('depth', () => {
    it('counts the text itself as the first level, arrays and objects alike', () => {
      expect(tooDeep(arrays(3), 3)).toBe(false);
      expect(tooDeep(arrays(4), 3)).toBe(true);
      expect(tooDeep('{"a":{"b":{"c":1}}}', 3)).toBe(false);
      expect(tooDeep('{"a":{"b":{"c":{}}}}', 3)).toBe(true);
      expect(tooDeep('{"a":[{"b":[]}]}', 3)).toBe(true);
    });

    it('counts containers, empty ones too, but not scalars or strings of brackets', () => {
      for (const text of ['null', '1', '"x"', 'true', '"[[[[[["']) {
        expect(tooDeep(text, 0)).toBe(false);
      }
      expect(tooDeep(arrays(2, '[[[[{{{{'), 2)).toBe(false);
      expect(tooDeep(arrays(2, 'a\\"[[[[{{{{'), 2)).toBe(false);
      expect(tooDeep('[[],{}]', 2)).toBe(false);
      expect(tooDeep('[[]]', 1)).toBe(true);
    });

    it('finds one deep branch among many shallow ones', () => {
      const wide: unknown[] = Array.from({ length: 1000 }, (_, i) => ({ i }));
      expect(tooDeep(JSON.stringify(wide), 2)).toBe(false);
      wide[500] = { i: [[1]] };
      expect(tooDeep(JSON.stringify(wide), 2)).toBe(true);
    });

    it('finds the shortest text too deep, with one key or none', () => {
      expect(tooDeep(arrays(3, 'x').replace('"x"', ''), 2)).toBe(true);
      expect(tooDeep('{"a":[[]]}', 2)).toBe(true);
      expect(tooDeep('[[]]', 2)).toBe(false);
    });

    it('reads texts far deeper than the stack would allow, without recursion', () => {
      expect(tooDeep(arrays(100_000), 64)).toBe(true);
    });
  });

  describe('keys named twice', () => {
    it('finds a key named twice in one object, at any depth', () => {
      expect(jsonTextProblem('{"role":"viewer","role":"admin"}', 64)).toEqual({
        duplicateKey: 'role',
      });
      expect(jsonTextProblem('{"a":[{"b":1},{"c":{"d":1, "d" :2}}]}', 64)).toEqual({
        duplicateKey: 'd',
      });
    });

    it('reads keys as a parser does: escapes decoded, whitespace before the colon', () => {
      expect(jsonTextProblem('{"role":1,"\\u0072ole":2}', 64)).toEqual({ duplicateKey: 'role' });
      expect(jsonTextProblem('{"a\\"b":1,\n  "a\\"b"\t:\r\n2}', 64)).toEqual({
        duplicateKey: 'a"b',
      });
    });

    it('lets the same key appear in different objects, and values equal to keys', () => {
      for (const text of [
        '{"a":{"a":1},"b":{"a":1}}',
        '[{"a":1},{"a":2}]',
        '{"a":"a","b":["a","a"],"c":"b"}',
        '{"a":"x:","b":"\\"a\\":1"}',
        '{"":1,"\\"":2,"\\\\":3}',
        '{}',
      ]) {
        expect(jsonTextProblem(text, 64)).toBeUndefined();
      }
    });

    it('tells keys with different escapes apart when they differ', () => {
      expect(jsonTextProblem('{"\\\\":1,"\\"":2}', 64)).toBeUndefined();
    });
  });
});

import { readStop } from './stop.dto';

const AGENT = 'agt_3f9a1c2b4d5e6f70';
const problemOf = (body: unknown) => {
  const read = readStop(body);
  return 'problem' in read ? read.problem : undefined;
};

describe("a phone's stop, as read by the relay", () => {
  it('takes each of the three targets, with a reason kept trimmed', () => {
    expect(readStop({ agentId: AGENT, requestId: 'r-1' })).toEqual({
      stop: { agentId: AGENT, requestId: 'r-1' },
    });
    expect(readStop({ mine: true, reason: '  looping  ', requestId: 'r-2' })).toEqual({
      stop: { mine: true, reason: 'looping', requestId: 'r-2' },
    });
    expect(readStop({ selector: { labels: { team: 'infra' } }, requestId: 'r-3' })).toEqual({
      stop: { selector: { labels: { team: 'infra' } }, requestId: 'r-3' },
    });
    // 500 characters once trimmed.
    const long = 'x'.repeat(500);
    expect(readStop({ mine: true, reason: ` ${long} `, requestId: 'r-4' })).toEqual({
      stop: { mine: true, reason: long, requestId: 'r-4' },
    });
  });

  it('refuses fields it does not know, in the words of the API', () => {
    expect(problemOf({ selector: { all: true }, dryRun: true, requestId: 'r' })).toBe(
      'property dryRun should not exist',
    );
    expect(problemOf({ agentId: AGENT, requestId: 'r', force: 1, why: 'x' })).toBe(
      'property force should not exist; property why should not exist',
    );
    // Names class-transformer would drop without a word.
    expect(problemOf(JSON.parse(`{"agentId":"${AGENT}","requestId":"r","__proto__":{}}`))).toBe(
      'property __proto__ should not exist',
    );
  });

  it('takes exactly one target, of the right type, and names what is wrong', () => {
    expect(problemOf({ agentId: ['agt_x'], mine: true, requestId: 'r' })).toBe(
      'agentId must be an agent id such as agt_3f9a1c2b4d5e6f70; ' +
        'send only one of agentId, mine and selector, not agentId and mine',
    );
    expect(problemOf({ agentId: 123, selector: null, requestId: 'r' })).toMatch(
      /^agentId must be an agent id .*; selector must be exactly one of .*; send only one of agentId, mine and selector, not agentId and selector$/,
    );
    expect(problemOf({ agentId: AGENT, mine: true, requestId: 'r' })).toBe(
      'send only one of agentId, mine and selector, not agentId and mine',
    );
    expect(problemOf({ agentId: '../x', requestId: 'r' })).toBe(
      'agentId must be an agent id such as agt_3f9a1c2b4d5e6f70',
    );
    expect(problemOf({ agentId: null, requestId: 'r' })).toBe(
      'agentId must be an agent id such as agt_3f9a1c2b4d5e6f70',
    );
    expect(problemOf({ mine: false, requestId: 'r' })).toBe('mine must be true (or not sent)');
    expect(problemOf({ mine: 'true', requestId: 'r' })).toBe('mine must be true (or not sent)');
    expect(problemOf({ selector: { agentIds: ['nope'] }, requestId: 'r' })).toMatch(
      /^selector.agentIds must be agent ids .*\(got "nope"\)$/,
    );
    expect(problemOf({ requestId: 'r' })).toMatch(
      /^send \{agentId\}, \{mine: true\} or \{selector\}, where selector is exactly one of/,
    );
  });

  it('takes a reason of 1 to 500 characters once trimmed, and nothing but a string', () => {
    const stop = { mine: true, requestId: 'r' };
    expect(problemOf({ ...stop, reason: 'x'.repeat(501) })).toBe(
      'reason must be 1 to 500 characters long',
    );
    expect(problemOf({ ...stop, reason: '   ' })).toBe('reason must not be blank');
    expect(problemOf({ ...stop, reason: 42 })).toBe('reason must be a string');
    expect(problemOf({ ...stop, reason: null })).toBe('reason must be a string');
  });

  it('requires a requestId, and an object', () => {
    expect(problemOf({ mine: true })).toBe(
      'requestId is required: a unique id per tap (letters, digits, -_.:)',
    );
    expect(problemOf({ mine: true, requestId: 'a b' })).toBe(
      'requestId is required: a unique id per tap (letters, digits, -_.:)',
    );
    for (const body of [undefined, null, 'stop', 7, [{ mine: true, requestId: 'r' }]]) {
      expect(problemOf(body)).toBe('a stop must be a JSON object');
    }
  });
});

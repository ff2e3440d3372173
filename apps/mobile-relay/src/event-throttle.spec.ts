import { EventThrottle } from './event-throttle';

describe('EventThrottle', () => {
  let sent: [string, string][];
  let throttle: EventThrottle<string>;

  beforeEach(() => {
    jest.useFakeTimers();
    sent = [];
    throttle = new EventThrottle<string>(3, 100, (audience, event) => sent.push([audience, event]));
  });

  afterEach(() => {
    throttle.clear();
    jest.useRealTimers();
  });

  const push = (audience: string, key: string, event = `${key}:v`) =>
    throttle.push(audience, key, event);

  it('sends events at once while under the limit, and again once a quiet window has passed', () => {
    push('a', 'k1');
    push('a', 'k2');
    expect(sent).toEqual([
      ['a', 'k1:v'],
      ['a', 'k2:v'],
    ]);
    jest.advanceTimersByTime(100);
    push('a', 'k3');
    push('a', 'k4');
    push('a', 'k5');
    expect(sent.map(([, event]) => event)).toEqual(['k1:v', 'k2:v', 'k3:v', 'k4:v', 'k5:v']);
  });

  it('holds what is over the limit until the window ends: the newest keys, each at its latest', () => {
    for (const key of ['k1', 'k2', 'k3']) {
      push('a', key);
    }
    push('a', 'k4', 'k4:queued');
    push('a', 'k5');
    push('a', 'k4', 'k4:halted'); // the newest now
    push('a', 'k6');
    push('a', 'k7');
    expect(sent).toHaveLength(3);

    jest.advanceTimersByTime(99);
    expect(sent).toHaveLength(3);
    jest.advanceTimersByTime(1);
    // Of k5, k4, k6, k7 (in the order of their latest events), the newest three.
    expect(sent.slice(3).map(([, event]) => event)).toEqual(['k4:halted', 'k6:v', 'k7:v']);
  });

  it('keeps the newest event of a key when an older one comes in after it', () => {
    const ordered = new EventThrottle<{ key: string; at: number }>(
      1,
      100,
      (audience, event) => sent.push([audience, `${event.key}@${event.at}`]),
      (event, held) => event.at < held.at,
    );
    try {
      ordered.push('a', 'first', { key: 'first', at: 1 });
      ordered.push('a', 'k', { key: 'k', at: 3 }); // halted
      ordered.push('a', 'k', { key: 'k', at: 2 }); // running, which came in late
      jest.advanceTimersByTime(100);
      expect(sent).toEqual([
        ['a', 'first@1'],
        ['a', 'k@3'],
      ]);
    } finally {
      ordered.clear();
    }
  });

  it('keeps a flood at the limit per window, then sends at once again when it is over', () => {
    let n = 0;
    for (let window = 0; window < 5; window++) {
      for (let i = 0; i < 20; i++) {
        push('a', `k${++n}`);
      }
      jest.advanceTimersByTime(100);
    }
    // The first window's three at once and three at its end; then three at the end of each.
    expect(sent).toHaveLength(3 + 3 * 5);
    expect(sent.at(-1)).toEqual(['a', `k${n}:v`]);

    jest.advanceTimersByTime(100); // a window with nothing held ends the flood
    push('a', 'after');
    expect(sent.at(-1)).toEqual(['a', 'after:v']);
  });

  it('counts each audience apart', () => {
    for (let i = 0; i < 5; i++) {
      push('a', `a${i}`);
      push('b', `b${i}`);
    }
    expect(sent.filter(([audience]) => audience === 'a')).toHaveLength(3);
    expect(sent.filter(([audience]) => audience === 'b')).toHaveLength(3);
    jest.advanceTimersByTime(100);
    expect(sent.filter(([audience]) => audience === 'a')).toHaveLength(5);
    expect(sent.filter(([audience]) => audience === 'b')).toHaveLength(5);
  });

  it('drops what it holds when cleared', () => {
    for (let i = 0; i < 5; i++) {
      push('a', `k${i}`);
    }
    throttle.clear();
    jest.advanceTimersByTime(1000);
    expect(sent).toHaveLength(3);
  });
});

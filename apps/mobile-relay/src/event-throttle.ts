/** One audience's current window: how many went out in it, and the newest held back. */
interface Window<T> {
  sent: number;
  held: Map<string, T>;
  timer: NodeJS.Timeout;
}

/**
 * Live events to each audience (a room of phones), at most `limit` per window of `windowMs`.
 * Within the limit an event goes out at once; past it, the event is held, only the newest of
 * each key (an action's latest status) and only the newest `limit` keys, and those go out when
 * the window ends. A bulk stop halts every queued action of every agent, one event each: a phone
 * watching them would otherwise get 100,000 events in a few seconds, one WebSocket frame each,
 * the relay's CPU taken from the stop's own follow-up, when its page shows the newest 50.
 */
export class EventThrottle<T, A extends string = string> {
  private readonly windows = new Map<A, Window<T>>();

  /**
   * @param send - sends events to an audience (called once per event, in the order kept)
   * @param isOlder - whether an event is older than the one held for its key, which it then
   *   does not replace (events can arrive out of order: each waits for its own owner read)
   */
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly send: (audience: A, event: T) => void,
    private readonly isOlder: (event: T, held: T) => boolean = () => false,
  ) {}

  /** Sends `event` to `audience` now, or holds it until its window ends (replacing `key`'s). */
  push(audience: A, key: string, event: T): void {
    const window = this.windows.get(audience) ?? this.open(audience, 0);
    if (window.sent < this.limit) {
      window.sent += 1;
      this.send(audience, event);
      return;
    }
    const held = window.held.get(key);
    if (held !== undefined && this.isOlder(event, held)) {
      return;
    }
    // Re-inserted, so that the map's order is the order of each key's latest event.
    window.held.delete(key);
    window.held.set(key, event);
    if (window.held.size > this.limit) {
      const oldest = window.held.keys().next().value as string;
      window.held.delete(oldest);
    }
  }

  /** Drops whatever is held (the relay is shutting down). */
  clear(): void {
    for (const window of this.windows.values()) {
      clearTimeout(window.timer);
    }
    this.windows.clear();
  }

  private open(audience: A, sent: number): Window<T> {
    const timer = setTimeout(() => this.close(audience), this.windowMs);
    timer.unref();
    const window: Window<T> = { sent, held: new Map(), timer };
    this.windows.set(audience, window);
    return window;
  }

  private close(audience: A): void {
    const window = this.windows.get(audience);
    this.windows.delete(audience);
    if (!window || window.held.size === 0) {
      return;
    }
    // A flood goes on in windows whose events all go out at their end: what was held now
    // counts against the next window, so the rate stays at `limit` per window.
    this.open(audience, this.limit);
    for (const event of window.held.values()) {
      this.send(audience, event);
    }
  }
}

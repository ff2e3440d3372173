import { StopRequests } from './stop-requests';
import { redisForSpec } from '../../../test/support/int';

// The memory of a device's stops against a real Redis: one delivery at a time carries a stop
// out, a lapsed one is taken over under the same incident id, and only the holder answers.
describe('stop requests (real Redis)', () => {
  const { redis } = redisForSpec('stop-requests');
  let requests: StopRequests;
  let n = 0;

  beforeAll(() => {
    requests = new StopRequests(redis);
  });

  const request = () => ({ device: 'dev_0000000000000001', id: `req-${++n}` });
  /** Makes the holder's lease lapse now (30 s after its claim, in real life). */
  const lapse = async (device: string, id: string) => {
    const key = redis.keys.stopRequest(device, id);
    const held = (await redis.client.get(key)) ?? '';
    await redis.client.set(key, held.replace(/\d+$/, '0'), 'KEEPTTL');
  };

  it('lets one delivery carry a stop out, and answers the others with its answer', async () => {
    const { device, id } = request();
    const first = await requests.claim(device, id, 'inc_0000000000000001');
    expect(first).toMatchObject({
      kind: 'claimed',
      incidentId: 'inc_0000000000000001',
      resumed: false,
    });
    expect(await requests.claim(device, id, 'inc_0000000000000002')).toEqual({ kind: 'held' });
    const token = first.kind === 'claimed' ? first.token : '';
    expect(await requests.settle(device, id, token, '{"ok":true}')).toBe(true);
    expect(await requests.claim(device, id, 'inc_0000000000000003')).toEqual({
      kind: 'answer',
      answer: '{"ok":true}',
    });
    expect(await redis.client.ttl(redis.keys.stopRequest(device, id))).toBeGreaterThan(23 * 3600);
  });

  it('hands a lapsed or released stop over under its incident id, and ignores its old holder', async () => {
    const { device, id } = request();
    const first = await requests.claim(device, id, 'inc_00000000000000a1');
    const firstToken = first.kind === 'claimed' ? first.token : '';
    await lapse(device, id);
    const second = await requests.claim(device, id, 'inc_00000000000000a2');
    expect(second).toMatchObject({
      kind: 'claimed',
      incidentId: 'inc_00000000000000a1',
      resumed: true,
    });
    // The first delivery, back after all: neither its answer nor its release counts.
    expect(await requests.settle(device, id, firstToken, '{"ok":false}')).toBe(false);
    expect(await requests.settle(device, id, firstToken)).toBe(false);
    expect(await requests.claim(device, id, 'inc_00000000000000a3')).toEqual({ kind: 'held' });
    // Released by its holder (it failed): the next delivery takes it over at once.
    const secondToken = second.kind === 'claimed' ? second.token : '';
    expect(await requests.settle(device, id, secondToken)).toBe(true);
    expect(await requests.claim(device, id, 'inc_00000000000000a4')).toMatchObject({
      kind: 'claimed',
      incidentId: 'inc_00000000000000a1',
      resumed: true,
    });
  });

  it('takes no refusal as an answer: one kept by an older relay is claimed afresh', async () => {
    const { device, id } = request();
    const key = redis.keys.stopRequest(device, id);
    await redis.client.set(
      key,
      '{"ok":false,"error":"Viewers cannot stop agents","code":"forbidden"}',
      'EX',
      3600,
    );
    expect(await requests.claim(device, id, 'inc_00000000000000b1')).toMatchObject({
      kind: 'claimed',
      incidentId: 'inc_00000000000000b1',
      resumed: false,
    });
    expect(await redis.client.ttl(key)).toBeGreaterThan(23 * 3600);
  });
});

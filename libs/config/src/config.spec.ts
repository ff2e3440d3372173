import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      killswitchPort: 3000,
      relayPort: 3001,
      redisUrl: 'redis://127.0.0.1:6379',
      keyPrefix: 'ks',
      logLevel: 'info',
      actionMaxAnswerBytes: 1024 * 1024,
    });
    expect(config.adminKey).toBeUndefined();
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ KILLSWITCH_PORT: '' }).killswitchPort).toBe(3000);
  });

  it.each([
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must be a URL.*got "localhost:6379"/],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, /REDIS_URL/],
    [{ KILLSWITCH_PORT: 'abc' }, /KILLSWITCH_PORT must be a TCP port/],
    [{ RELAY_PORT: '70000' }, /RELAY_PORT must be between 1 and 65535/],
    [{ KEY_PREFIX: 'has space' }, /KEY_PREFIX must be/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ KILLSWITCH_ADMIN_KEY: 'secret' }, /KILLSWITCH_ADMIN_KEY must look like/],
    [{ ACTION_MAX_ANSWER_BYTES: '0' }, /ACTION_MAX_ANSWER_BYTES must be a positive whole number/],
    [{ HOST: 'not a host' }, /HOST must be an address of this machine/],
    [{ HOST: 'a..b' }, /HOST must be/],
    [{ ACTION_AGENT_CONCURRENCY: '17' }, /ACTION_AGENT_CONCURRENCY must be between 1 and 16/],
    [{ RELAY_PUBLIC_URL: 'ftp://stop.example.com' }, /RELAY_PUBLIC_URL must be the http\(s\) URL/],
    [{ RELAY_PUBLIC_URL: 'stop.example.com' }, /RELAY_PUBLIC_URL must be/],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    '0.0.0.0',
    '::',
    '::1',
    'fe80::1%eth0',
    'localhost',
    'proj_killswitch_1',
    'host.example.com.',
  ])('takes HOST=%s, as addresses and host names people listen on', (host) => {
    expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('takes the largest agent concurrency an agent may have, and http(s) relay URLs', () => {
    expect(loadConfig({ ACTION_AGENT_CONCURRENCY: '16' }).actionAgentConcurrency).toBe(16);
    for (const url of ['http://10.0.0.5:3001', 'https://stop.example.com']) {
      expect(loadConfig({ RELAY_PUBLIC_URL: url }).relayPublicUrl).toBe(url);
    }
  });

  it('never echoes a secret value back', () => {
    expect(() => loadConfig({ KILLSWITCH_ADMIN_KEY: 'hunter2' })).not.toThrow(/hunter2/);
  });
});

// Whether a Redis answers at a URL: shared by `npm start` (scripts/start.js) and the test
// suite's global set-up. Plain JavaScript, so it runs before anything is built.
const Redis = require('ioredis');

/**
 * @param {string} url
 * @returns {Promise<boolean>} true when a Redis answers, including one that wants a password
 *   (it is there; the apps will authenticate).
 */
async function redisAnswers(url) {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch (error) {
    return /NOAUTH|WRONGPASS/.test(String(error && error.message));
  } finally {
    probe.disconnect();
  }
}

/** Whether a Redis answers at `url` within `timeoutMs` (asking every 100 ms). */
async function waitUntilAnswers(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await redisAnswers(url)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

module.exports = { redisAnswers, waitUntilAnswers };

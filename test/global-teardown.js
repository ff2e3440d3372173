// Stops the throwaway Redis that global-setup.js started, if it started one.
module.exports = async function globalTeardown() {
  const child = globalThis.__testRedis;
  if (child && child.exitCode === null) {
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  }
};

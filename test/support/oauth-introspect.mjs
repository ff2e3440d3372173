// Asks an RFC 7662 introspection endpoint about a token with the real OAuth client library
// (oauth4webapi), as a resource server would. oauth4webapi ships as ES modules only, which Jest
// cannot import on Node 20, so the tests run this script as a child process.
//
// Usage: node oauth-introspect.mjs <introspectionEndpoint> <apiKey> <token>
// Prints the parsed introspection response as JSON on stdout; exits 1 with the error on stderr.
import * as oauth from 'oauth4webapi';

const [endpoint, apiKey, token] = process.argv.slice(2);
if (!endpoint || !apiKey || !token) {
  process.stderr.write('usage: oauth-introspect.mjs <introspectionEndpoint> <apiKey> <token>\n');
  process.exit(2);
}

const as = { issuer: new URL(endpoint).origin, introspection_endpoint: endpoint };
const client = { client_id: 'resource-server' };

try {
  const response = await oauth.introspectionRequest(as, client, oauth.None(), token, {
    // The resource server authenticates with its API key (RFC 7662 section 2.1 allows a bearer
    // token). oauth4webapi refuses an `authorization` entry in `options.headers`, so it is added
    // at the fetch boundary instead.
    [oauth.customFetch]: (url, options) =>
      fetch(url, {
        ...options,
        headers: new Headers({ ...options.headers, authorization: `Bearer ${apiKey}` }),
      }),
    // The test apps listen on plain http on loopback.
    [oauth.allowInsecureRequests]: true,
  });
  const result = await oauth.processIntrospectionResponse(as, client, response);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  const status = error?.response?.status ?? error?.status;
  process.stderr.write(`${error?.name ?? 'Error'}: ${error?.message ?? error} (${status})\n`);
  process.exit(1);
}

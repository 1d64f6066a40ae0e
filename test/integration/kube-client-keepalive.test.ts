// Requests share kept-alive connections: a request body must be framed (Content-Length), or the
// server reads a DELETE's body as the start of the next request on that connection.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Resources } from '../../src/runtime/kube-client.ts';
import { testClient, testNamespace } from '../support/cluster.ts';

it('a request after a DELETE with a body on the same connection succeeds', async (t) => {
  const client = await testClient();
  const ns = await testNamespace(t, 'keepalive');
  for (const name of ['a', 'b', 'c']) {
    await client.create(Resources.configMaps, { metadata: { name, namespace: ns } });
    assert.equal(await client.delete(Resources.configMaps, ns, name), true);
    const after = await client.get(Resources.namespaces, undefined, ns);
    assert.equal(after.metadata.name, ns);
  }
});

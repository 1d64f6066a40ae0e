import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  FAIL_LABEL,
  FINISH_AFTER,
  kwokConfigYaml,
  READY_AFTER,
  stages,
  TERMINATE_AFTER,
} from '../../src/dev/kwok-stages.ts';
import { nodeManifest } from '../../src/dev/nodes.ts';

describe('kwok configuration', () => {
  const docs = parseAllDocuments(kwokConfigYaml(200)).map((d) => d.toJSON());

  it('starts with the KwokConfiguration and its node lease', () => {
    assert.equal(docs[0].kind, 'KwokConfiguration');
    assert.equal(docs[0].options.nodeLeaseDurationSeconds, 200);
    assert.equal(docs.length, stages.length + 2);
  });

  it('serves the kubelet log endpoint: node IP on loopback, its port, a log file for every pod', () => {
    assert.equal(docs[0].options.nodeIP, '127.0.0.1');
    assert.equal(docs[0].options.enableDebuggingHandlers, true);
    const logs = docs.find((d) => d.kind === 'ClusterLogs');
    assert.deepEqual(logs.spec.selector, {});
    assert.match(readFileSync(logs.spec.logs[0].logsFile, 'utf8'), /^\S+Z stdout F bosun dev: simulated pod/);
    assert.match(
      docs.find((d) => d.metadata?.name === 'node-initialize').spec.next.statusTemplate,
      /kubeletEndpoint/,
    );
  });

  it('gives delayed stages a fixed delay and no jitter (a jitter ≤ delay would replace it)', () => {
    for (const s of docs.slice(1, -1)) {
      const delay = s.spec.delay;
      if (delay?.durationFrom) assert.equal(delay.jitterDurationMilliseconds, undefined, s.metadata.name);
    }
    const delayKeys = docs
      .slice(1)
      .map((s) => s.spec.delay?.durationFrom?.expressionFrom)
      .filter(Boolean);
    assert.ok(delayKeys.some((k: string) => k.includes(READY_AFTER)));
    assert.ok(delayKeys.some((k: string) => k.includes(FINISH_AFTER)));
    assert.ok(delayKeys.some((k: string) => k.includes(TERMINATE_AFTER)));
  });

  it('never lets a pod both complete and fail: the stages select on the fail label oppositely', () => {
    const selector = (name: string) =>
      docs.find((d) => d.metadata?.name === name).spec.selector.matchExpressions;
    const onFail = (name: string) =>
      selector(name).find((e: { key: string }) => e.key.includes(FAIL_LABEL))?.operator;
    assert.equal(onFail('pod-complete'), 'DoesNotExist');
    assert.equal(onFail('pod-fail'), 'Exists');
  });
});

describe('simulated nodes', () => {
  const cases: [number, string, string][] = [
    [0, 'kwok-node-0', 'zone-a'],
    [1, 'kwok-node-1', 'zone-b'],
    [5, 'kwok-node-5', 'zone-c'],
  ];
  for (const [index, name, zone] of cases) {
    it(`node ${index} is ${name} in ${zone}`, () => {
      const n = nodeManifest(index);
      assert.equal(n.metadata.name, name);
      assert.equal(n.metadata.labels?.['kubernetes.io/hostname'], name);
      assert.equal(n.metadata.labels?.['topology.kubernetes.io/zone'], zone);
      assert.equal(n.metadata.labels?.['kubernetes.io/os'], 'linux');
    });
  }
});

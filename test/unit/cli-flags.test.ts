// `bosun run` and `bosun serve` name a bad flag before they look for a cluster (the process is run
// as a person would, with no kubeconfig at all), and their flags are documented as --help says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RUN_USAGE } from '../../src/cli/run.ts';
import { SERVE_USAGE } from '../../src/cli/serve.ts';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

const bosun = (args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', HOME: '/nonexistent' },
  });

describe('bad flags are named before any connection', () => {
  const table: [string[], RegExp][] = [
    [['run', '--github-resync-interval=2ms'], /--github-resync-interval must be between 1s and 24h/],
    [['run', '--public-url=bosun.example.com'], /--public-url must be an absolute URL/],
    [['run', '--http-address=:8090', '--public-url=https://x.example/bosun'], /--public-url is an origin/],
    [['serve', '--public-url=ftp://x.example'], /--public-url must be http or https/],
  ];
  for (const [args, message] of table)
    it(args.join(' '), () => {
      const r = bosun(args);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /kubeconfig/);
    });
});

describe('the flags reference in docs/architecture.md', () => {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  for (const [command, usage] of [
    ['bosun run', RUN_USAGE],
    ['bosun serve', SERVE_USAGE],
  ])
    it(`holds ${command} --help as it is`, () =>
      assert.ok(
        doc.includes(`\`\`\`text\n${usage}\n\`\`\``),
        `docs/architecture.md: paste ${command} --help`,
      ));
});

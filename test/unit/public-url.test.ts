import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uiLink } from '../../src/controllers/preview-github/report.ts';
import { parsePublicUrl } from '../../src/server/origin.ts';

describe('parsePublicUrl', () => {
  const good: [string, string][] = [
    ['https://bosun.example.com', 'https://bosun.example.com'],
    ['https://bosun.example.com/', 'https://bosun.example.com'],
    ['http://127.0.0.1:8090', 'http://127.0.0.1:8090'],
    ['https://Bosun.Example.com:443', 'https://bosun.example.com'],
  ];
  for (const [raw, want] of good) it(`${raw} → ${want}`, () => assert.equal(parsePublicUrl(raw), want));

  const bad: [string, RegExp][] = [
    ['bosun.example.com', /absolute URL such as https:\/\/bosun\.example\.com/],
    ['ftp://bosun.example.com', /http or https/],
    ['https://example.com/bosun', /an origin .* served at the root/],
    ['https://example.com/?tab=1', /an origin/],
    ['https://example.com/#x', /an origin/],
    ['https://me:secret@example.com', /an origin/],
  ];
  for (const [raw, message] of bad)
    it(`refuses ${raw}, saying what to give`, () => assert.throws(() => parsePublicUrl(raw), message));
});

describe('uiLink', () => {
  it('filters the web UI to a repository, and a pull request', () => {
    assert.equal(
      uiLink('https://b.example', 'previews/shop'),
      'https://b.example/?repository=previews%2Fshop',
    );
    assert.equal(
      uiLink('https://b.example', 'previews/shop', 7),
      'https://b.example/?repository=previews%2Fshop&pullRequest=7',
    );
  });
});

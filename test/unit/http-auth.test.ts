// Tokens: the Secret's "<scope>:<token>" values, the Authorization header, scopes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken, findToken, grants, parseSecretRef, parseTokens } from '../../src/server/auth.ts';

describe('parseTokens', () => {
  it('reads each key as a named token with its scope; reports malformed values by key', () => {
    const { entries, problems } = parseTokens({
      ci: 'operate:s3cret-ci',
      viewer: 'read:s3cret-view',
      root: 'admin:with:colons',
      nothing: 'operate:',
      noscope: 'justatoken',
      badscope: 'write:abc',
    });
    assert.deepEqual(
      entries.map((e) => [e.subject, e.scope]),
      [
        ['ci', 'operate'],
        ['viewer', 'read'],
        ['root', 'admin'],
      ],
    );
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /key "nothing": the token after "operate:" is empty/);
    assert.match(problems.join('\n'), /key "noscope": the value must be "<scope>:<token>"/);
    assert.match(problems.join('\n'), /key "badscope"/);
    assert.equal(findToken(entries, 'with:colons')?.subject, 'root');
    assert.equal(findToken(entries, 's3cret-ci')?.subject, 'ci');
    assert.equal(findToken(entries, 's3cret'), undefined);
    assert.equal(findToken(entries, ''), undefined);
  });
});

describe('bearerToken', () => {
  it('absent, well-formed and malformed headers', () => {
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(''), undefined);
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer  abc'), 'abc');
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), null);
    assert.equal(bearerToken('Bearer'), null);
    assert.equal(bearerToken('Bearer a b'), null);
  });
});

describe('scopes', () => {
  it('admin includes operate includes read', () => {
    assert.deepEqual(grants('read'), ['read']);
    assert.deepEqual(grants('operate'), ['read', 'operate']);
    assert.deepEqual(grants('admin'), ['read', 'operate', 'admin']);
  });
  it('--tokens-secret is NAMESPACE/NAME', () => {
    assert.deepEqual(parseSecretRef('bosun-system/api-tokens'), {
      namespace: 'bosun-system',
      name: 'api-tokens',
    });
    assert.throws(() => parseSecretRef('api-tokens'), /--tokens-secret must be NAMESPACE\/NAME/);
    assert.throws(() => parseSecretRef('A/b'), /NAMESPACE\/NAME/);
  });
});

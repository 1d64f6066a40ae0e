// The GitHub login's cookies: signing, sealing, the OAuth state and the CSRF token; the
// repository permission mapping; the order in which tokens and sessions are asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import {
  type Authenticator,
  Authenticators,
  type Identity,
  type SessionAuthenticator,
} from '../../src/server/auth.ts';
import {
  checkState,
  csrfToken,
  deriveKeys,
  newState,
  parseCookies,
  seal,
  serializeCookie,
  sign,
  unseal,
  unsign,
} from '../../src/server/auth-cookies.ts';
import { permissionOf } from '../../src/server/auth-github-http.ts';

const keys = deriveKeys('0123456789abcdef0123456789abcdef');
const other = deriveKeys('fedcba9876543210fedcba9876543210');

describe('cookie keys', () => {
  it('refuses a short sessionKey and derives distinct keys', () => {
    assert.throws(() => deriveKeys('short'), /at least 32 characters/);
    assert.notDeepEqual(keys.sign, keys.seal);
    assert.notDeepEqual(keys.seal, keys.csrf);
  });
});

describe('sign / unsign', () => {
  it('gives the value back only when neither it nor the signature changed, with the same key', () => {
    const signed = sign(keys.sign, 'abc~123');
    assert.equal(unsign(keys.sign, signed), 'abc~123');
    assert.equal(unsign(keys.sign, signed.replace('abc', 'abd')), undefined);
    const flipped = `${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(unsign(keys.sign, flipped), undefined);
    assert.equal(unsign(other.sign, signed), undefined);
    assert.equal(unsign(keys.sign, 'nodot'), undefined);
  });
});

describe('seal / unseal', () => {
  it('hides the content, and refuses a changed cookie or another key', () => {
    const sealed = seal(keys.seal, { l: 'alice', t: 'gho_secret' });
    assert.ok(!Buffer.from(sealed, 'base64url').toString('latin1').includes('gho_secret'));
    assert.deepEqual(unseal(keys.seal, sealed), { l: 'alice', t: 'gho_secret' });
    const raw = Buffer.from(sealed, 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    assert.equal(unseal(keys.seal, raw.toString('base64url')), undefined);
    assert.equal(unseal(other.seal, sealed), undefined);
    assert.equal(unseal(keys.seal, 'garbage'), undefined);
    assert.notEqual(seal(keys.seal, 1), seal(keys.seal, 1), 'a fresh IV each time');
  });
});

describe('OAuth state', () => {
  it('accepts the state of this browser’s cookie, before it expires', () => {
    const { state, cookie } = newState(keys.sign, 1000, 600_000);
    assert.equal(checkState(keys.sign, cookie, state, 2000), '');
    assert.match(checkState(keys.sign, cookie, state, 700_000), /took too long/);
    assert.match(checkState(keys.sign, cookie, `${state}x`, 2000), /does not match/);
    assert.match(checkState(keys.sign, cookie, undefined, 2000), /does not match/);
    assert.match(checkState(keys.sign, undefined, state, 2000), /cookie is missing/);
    assert.match(checkState(other.sign, cookie, state, 2000), /not signed by this server/);
    // Another browser's state (a forged callback link) does not match this browser's cookie.
    const theirs = newState(keys.sign, 1000, 600_000);
    assert.match(checkState(keys.sign, cookie, theirs.state, 2000), /does not match/);
    // A cookie rewritten to carry the attacker's state breaks the signature.
    const forged = cookie.replace(state, theirs.state);
    assert.match(checkState(keys.sign, forged, theirs.state, 2000), /not signed/);
  });
});

describe('CSRF token', () => {
  it('is fixed per session and key, different across sessions', () => {
    assert.equal(csrfToken(keys.csrf, 's1'), csrfToken(keys.csrf, 's1'));
    assert.notEqual(csrfToken(keys.csrf, 's1'), csrfToken(keys.csrf, 's2'));
    assert.notEqual(csrfToken(keys.csrf, 's1'), csrfToken(other.csrf, 's1'));
  });
});

describe('cookies', () => {
  it('parses a Cookie header and writes HttpOnly cookies with SameSite and Secure', () => {
    assert.deepEqual(parseCookies('a=1; b=x.y=; a=2'), { a: '1', b: 'x.y=' });
    assert.deepEqual(parseCookies(undefined), {});
    assert.equal(
      serializeCookie('s', 'v', { path: '/', sameSite: 'Strict', secure: true, maxAge: 60 }),
      's=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure',
    );
    assert.doesNotMatch(
      serializeCookie('s', '', { path: '/a', sameSite: 'Lax', secure: false, maxAge: 0 }),
      /Secure/,
    );
  });
});

describe('permissionOf', () => {
  it('maps GitHub roles: admin, maintain, write operate; triage, read read', () => {
    const cases: [Record<string, string>, string][] = [
      [{ permission: 'admin', role_name: 'admin' }, 'operate'],
      [{ permission: 'write', role_name: 'maintain' }, 'operate'],
      [{ permission: 'write', role_name: 'write' }, 'operate'],
      [{ permission: 'read', role_name: 'triage' }, 'read'],
      [{ permission: 'read', role_name: 'read' }, 'read'],
      [{ permission: 'none', role_name: 'none' }, 'none'],
      [{ permission: 'write', role_name: 'release-manager' }, 'operate'],
      [{}, 'none'],
    ];
    for (const [answer, expected] of cases)
      assert.equal(permissionOf(answer), expected, JSON.stringify(answer));
  });
});

describe('Authenticators', () => {
  const request = (headers: Record<string, string>) =>
    ({ headers, method: 'GET' }) as unknown as FastifyRequest;
  const tokens: Authenticator = {
    authenticate: async (r) =>
      r.headers.authorization ? { subject: 'ci', scopes: ['read', 'operate'] } : { scopes: [] },
  };
  const session: Identity = {
    subject: 'alice',
    scopes: [],
    github: { login: 'alice', token: 't', sessionId: 's', csrfToken: 'c' },
  };
  const asked: string[] = [];
  const sessions: SessionAuthenticator = {
    loginUrl: '/auth/github/login',
    authenticate: async (r) => (r.headers.cookie ? session : undefined),
    authorize: async (_who, action, repository) => {
      asked.push(`${action} ${repository}`);
      return repository === 'acme/shop';
    },
  };
  const auth = new Authenticators(tokens, sessions);

  it('judges a request with an Authorization header by the token alone', async () => {
    assert.equal(
      (await auth.authenticate(request({ authorization: 'Bearer x', cookie: 'c' }))).subject,
      'ci',
    );
    assert.equal((await auth.authenticate(request({ cookie: 'c' }))).subject, 'alice');
    assert.equal((await auth.authenticate(request({}))).subject, undefined);
    assert.equal(auth.loginUrl, '/auth/github/login');
    assert.equal(new Authenticators(tokens).loginUrl, undefined);
  });

  it('authorizes tokens by scope, sessions per repository', async () => {
    assert.equal(
      await auth.authorize({ subject: 'ci', scopes: ['read', 'operate'] }, 'operate', 'acme/x'),
      true,
    );
    assert.equal(await auth.authorize({ subject: 'v', scopes: ['read'] }, 'operate', 'acme/shop'), false);
    assert.equal(await auth.authorize(session, 'operate', 'acme/shop'), true);
    assert.equal(await auth.authorize(session, 'operate', 'acme/other'), false);
    assert.equal(await auth.authorize(session, 'read', 'acme/shop'), true);
    assert.equal(
      await auth.authorize(session, 'read', 'acme/other'),
      false,
      'a session reads per repository',
    );
    assert.deepEqual(asked, ['operate acme/shop', 'operate acme/other', 'read acme/shop', 'read acme/other']);
  });

  it('gives a session what anyone may do besides: everything to read with public reads', async () => {
    const publicReads: Authenticator = { authenticate: async () => ({ scopes: ['read'] }) };
    const who = await new Authenticators(publicReads, sessions).authenticate(request({ cookie: 'c' }));
    assert.equal(who.subject, 'alice');
    assert.deepEqual(who.scopes, ['read']);
    assert.deepEqual((await auth.authenticate(request({ cookie: 'c' }))).scopes, []);
  });
});

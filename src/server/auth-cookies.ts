// Cookies of the GitHub login, with node:crypto only. Three keys are derived from the Secret's
// `sessionKey` (HKDF-SHA256): one signs the short-lived OAuth state cookie (HMAC-SHA256), one seals
// the session cookie (AES-256-GCM: the GitHub access token inside is neither readable nor
// changeable by the browser), one derives each session's CSRF token.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

export interface CookieKeys {
  sign: Buffer;
  seal: Buffer;
  csrf: Buffer;
}

export function deriveKeys(sessionKey: string): CookieKeys {
  if (sessionKey.length < 32)
    throw new Error('sessionKey must be at least 32 characters (e.g. `openssl rand -hex 32`)');
  const key = (info: string) => Buffer.from(hkdfSync('sha256', sessionKey, 'bosun', info, 32));
  return { sign: key('state-cookie'), seal: key('session-cookie'), csrf: key('csrf-token') };
}

const mac = (key: Buffer, value: string) => createHmac('sha256', key).update(value).digest('base64url');

/** Constant-time equality of two strings (false when the lengths differ). */
export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `value.signature`: the value stays readable, any change breaks the signature. */
export function sign(key: Buffer, value: string): string {
  return `${value}.${mac(key, value)}`;
}

/** The signed value, or undefined when the signature does not verify. */
export function unsign(key: Buffer, signed: string): string | undefined {
  const at = signed.lastIndexOf('.');
  if (at < 0) return undefined;
  const value = signed.slice(0, at);
  return sameString(signed.slice(at + 1), mac(key, value)) ? value : undefined;
}

/** Encrypts and authenticates a JSON value: base64url(iv | tag | ciphertext). */
export function seal(key: Buffer, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The sealed value, or undefined when it was not sealed with this key or was changed. */
export function unseal<T>(key: Buffer, sealed: string): T | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** The OAuth state: random, signed with its expiry, kept in a cookie and sent to GitHub. */
export function newState(key: Buffer, now: number, ttlMs: number): { state: string; cookie: string } {
  const state = randomBytes(18).toString('base64url');
  return { state, cookie: sign(key, `${state}~${now + ttlMs}`) };
}

/** Why the state GitHub sent back is refused, or '' when it is the one of this browser's cookie. */
export function checkState(
  key: Buffer,
  cookie: string | undefined,
  state: string | undefined,
  now: number,
): string {
  if (!cookie) return 'no login under way in this browser (the state cookie is missing or expired)';
  const value = unsign(key, cookie);
  if (!value) return 'the state cookie is not signed by this server';
  const [expected = '', expires = '0'] = value.split('~');
  if (Number(expires) < now) return 'the login took too long; start again';
  if (!state || !sameString(state, expected)) return 'the state does not match this browser’s login';
  return '';
}

/** The CSRF token of a session: a page of ours reads it from /api/v1/whoami. */
export const csrfToken = (key: Buffer, sessionId: string) => mac(key, `csrf:${sessionId}`);

/** The cookies of a `Cookie` header, by name (the first of a repeated name wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (name && !(name in out)) out[name] = part.slice(at + 1).trim();
  }
  return out;
}

export interface CookieOptions {
  path: string;
  sameSite: 'Strict' | 'Lax';
  secure: boolean;
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
}

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${o.path}`,
    `Max-Age=${o.maxAge}`,
    'HttpOnly',
    `SameSite=${o.sameSite}`,
    ...(o.secure ? ['Secure'] : []),
  ].join('; ');
}

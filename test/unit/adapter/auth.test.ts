import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { AuthError, bearerToken, importCoreKey, toSpkiPem, verifyCoreToken } from '../../../src/adapter/auth.js';
import { captureLogs } from '../../support/logs.js';
import { adapterConfig, coreToken, counter, jobsPath, makeKeys, simpleJob, startAdapter, type Harness, type Keys } from './support.js';

let keys: Keys;
let other: Keys;
let h: Harness;

beforeAll(async () => {
  [keys, other] = await Promise.all([makeKeys(), makeKeys()]);
  h = await startAdapter(keys);
});
afterAll(() => h.close());

const now = () => Math.floor(Date.now() / 1000);
const products = (token: string | null) => h.call('GET', jobsPath('retrieveProducts'), undefined, { token });

describe('verifyCoreToken', () => {
  const config = () => adapterConfig(keys.der);

  it('accepts a token as UCloud/Core mints it, with the key as base64 DER or PEM', async () => {
    const token = await coreToken(keys.privateKey);
    await expect(verifyCoreToken(token, config())).resolves.toMatchObject({ sub: '_UCloud', role: 'SERVICE' });
    await expect(verifyCoreToken(token, adapterConfig(keys.pem))).resolves.toMatchObject({ sub: '_UCloud' });
  });

  it.each([
    ['expired', { exp: now() - 120, iat: now() - 720 }, /expired/],
    ['not yet valid', { nbf: now() + 300 }, /nbf/],
    ['issued in the future', { iat: now() + 300, exp: now() + 900 }, /iat/],
    ['too long-lived', { iat: now() - 7200, exp: now() + 600 }, /iat/],
    ['without exp', { exp: undefined }, /exp/],
    ['without iat', { iat: undefined }, /iat/],
    ['wrong issuer', { iss: 'evil.example' }, /iss/],
    ['wrong subject', { sub: '#P_example' }, /sub/],
    ['wrong role', { role: 'PROVIDER' }, /role/],
    ['no role', { role: undefined }, /role/],
  ])('rejects a token %s', async (_name, claims, reason) => {
    const token = await coreToken(keys.privateKey, claims);
    const err = await verifyCoreToken(token, config()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(reason);
  });

  it('tolerates small clock skew (clockToleranceSeconds)', async () => {
    const token = await coreToken(keys.privateKey, { exp: now() - 10, iat: now() - 600 });
    await expect(verifyCoreToken(token, config())).resolves.toBeDefined();
    await expect(verifyCoreToken(token, adapterConfig(keys.der, {}), () => new Date(Date.now() + 60_000))).rejects.toThrow(AuthError);
  });

  it('rejects other keys, alg none, and HS256 keyed with the public key', async () => {
    await expect(verifyCoreToken(await coreToken(other.privateKey), config())).rejects.toThrow(/signature/);
    const none = new UnsecuredJWT({ sub: '_UCloud', role: 'SERVICE', iss: 'cloud.sdu.dk', iat: now(), exp: now() + 60 }).encode();
    await expect(verifyCoreToken(none, config())).rejects.toThrow(AuthError);
    for (const secret of [keys.pem, keys.der]) {
      const hs = await new SignJWT({ sub: '_UCloud', role: 'SERVICE' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('cloud.sdu.dk')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      await expect(verifyCoreToken(hs, config())).rejects.toThrow(/algorithm/);
    }
    await expect(verifyCoreToken('not.a.jwt', config())).rejects.toThrow(AuthError);
    await expect(verifyCoreToken('', config())).rejects.toThrow(/no bearer/);
  });

  it('refuses a configured key that is not an RSA public key', async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const { exportSPKI } = await import('jose');
    await expect(importCoreKey(await exportSPKI(ec.publicKey))).rejects.toThrow(/cannot use the configured UCloud public key/);
    await expect(importCoreKey('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----')).rejects.toThrow(/PUBLIC KEY/);
    await expect(importCoreKey('not base64 !')).rejects.toThrow(/neither PEM nor base64/);
    const token = await coreToken(keys.privateKey);
    await expect(verifyCoreToken(token, adapterConfig('AAAA'))).rejects.toThrow(AuthError);
  });

  it('converts bare base64 DER to PEM and leaves PEM alone', () => {
    expect(toSpkiPem(keys.der)).toBe(keys.pem.trim());
    expect(toSpkiPem(`  ${keys.pem}\n`)).toBe(keys.pem.trim());
  });

  it('extracts only well-formed bearer tokens', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('authentication over HTTP', () => {
  it('serves a valid token', async () => {
    expect((await products(h.token)).status).toBe(200);
  });

  it.each([
    ['missing header', async () => null],
    ['expired', async () => coreToken(keys.privateKey, { exp: now() - 120, iat: now() - 720 })],
    ['wrong key', async () => coreToken(other.privateKey)],
    ['alg none', async () => new UnsecuredJWT({ sub: '_UCloud', role: 'SERVICE', iss: 'cloud.sdu.dk', iat: now(), exp: now() + 60 }).encode()],
    [
      'HS256 with the public key as secret',
      async () =>
        new SignJWT({ sub: '_UCloud', role: 'SERVICE', iss: 'cloud.sdu.dk', iat: now(), exp: now() + 60 })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(keys.der)),
    ],
    ['wrong role', async () => coreToken(keys.privateKey, { role: 'USER' })],
    ['wrong sub', async () => coreToken(keys.privateKey, { sub: 'admin' })],
    ['wrong iss', async () => coreToken(keys.privateKey, { iss: 'someone.else' })],
  ])('401 for %s', async (_name, token) => {
    const before = await counter(h.metrics, 'ucloud_operator_adapter_rejected_total', { reason: 'unauthenticated' });
    const res = await products(await token());
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ why: 'a valid UCloud/Core bearer token is required', errorCode: 'UNAUTHENTICATED' });
    expect(await counter(h.metrics, 'ucloud_operator_adapter_rejected_total', { reason: 'unauthenticated' })).toBe(before + 1);
  });

  it('401 for a malformed Authorization header', async () => {
    const res = await fetch(h.url + jobsPath('retrieveProducts'), { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
  });

  it('authenticates before anything else: unknown paths, bad JSON and writes are all 401', async () => {
    expect((await h.call('GET', '/no/such/path', undefined, { token: null })).status).toBe(401);
    expect((await h.call('POST', jobsPath(), undefined, { token: null, raw: '{not json' })).status).toBe(401);
    expect((await h.call('POST', jobsPath(), { items: [simpleJob('auth-1')] }, { token: null })).status).toBe(401);
    expect(h.kube.writes()).toEqual([]);
  });

  it('works with the key configured as PEM', async () => {
    const pemAdapter = await startAdapter(keys, { config: adapterConfig(keys.pem) });
    try {
      expect((await pemAdapter.call('GET', jobsPath('retrieveProducts'))).status).toBe(200);
      expect((await pemAdapter.call('GET', jobsPath('retrieveProducts'), undefined, { token: await coreToken(other.privateKey) })).status).toBe(401);
    } finally {
      await pemAdapter.close();
    }
  });

  it('says at start-up when the configured key is unusable', async () => {
    const lines = await captureLogs(async () => {
      const broken = await startAdapter(keys, { config: adapterConfig('AAAA') });
      try {
        expect((await broken.call('GET', jobsPath('retrieveProducts'))).status).toBe(401);
      } finally {
        await broken.close();
      }
    });
    expect(lines.some((l) => JSON.parse(l).msg.startsWith('The configured UCloud public key is unusable'))).toBe(true);
  });

  it('never writes a token to the log, accepted or rejected', async () => {
    const bad = await coreToken(other.privateKey);
    const expired = await coreToken(keys.privateKey, { exp: now() - 120, iat: now() - 720 });
    const lines = await captureLogs(async () => {
      await h.call('POST', jobsPath(), { items: [simpleJob('log-1')] });
      await h.call('POST', jobsPath('terminate'), { items: [{ id: 'log-1' }] });
      await h.call('GET', jobsPath('nope'));
      await h.call('GET', jobsPath('retrieveProducts'), undefined, { token: bad });
      await h.call('GET', jobsPath('retrieveProducts'), undefined, { token: expired });
      await h.call('GET', jobsPath('retrieveProducts'), undefined, { token: 'garbage-token-value' });
    });
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    expect(all).toContain('Rejected unauthenticated call');
    for (const secret of [h.token, bad, expired, 'garbage-token-value']) {
      expect(all).not.toContain(secret);
      // not even the signature or payload part
      for (const part of secret.split('.').filter((p) => p.length > 20)) expect(all).not.toContain(part);
    }
  });
});

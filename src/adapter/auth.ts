// Verifies UCloud/Core's RS256 JWTs. Only RS256 is accepted, so "alg: none" and HS256 signed
// with the public key as a shared secret are refused before any signature check. The issuer must
// be UCloud's, subject and role must be UCloud/Core's service identity, and exp/nbf/iat must hold
// within the configured clock tolerance. A failure answers 401 with a generic reason; the specific
// one goes to the log and a metric, never the token itself.
import { errors as joseErrors, importSPKI, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import type { RequestHandler } from 'express';
import type { OperatorConfig } from '../config.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { ProviderError } from './errors.js';

export const CORE_SUBJECT = '_UCloud';
export const CORE_ROLE = 'SERVICE';
// Core's tokens live 10 minutes (core2/pkg/foundation/auth_providers.go, ProviderRefreshAsOrchestrator:
// exp = iat + 10 min, aud ["all:write"]; Kotlin Core: 15). A token older than that, or claiming a
// longer life, was not minted by Core for a call: a leaked one is useless after 15 minutes.
export const MAX_TOKEN_AGE_SECONDS = 15 * 60;

export type CoreClaims = JWTPayload & { sub: typeof CORE_SUBJECT; role: typeof CORE_ROLE };
export type CoreTokenVerifier = (token: string) => Promise<CoreClaims>;

/** A rejected token; the message is for the log only. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
}

/** UCloud hands providers the key as bare base64 DER SPKI; PEM is accepted too. */
export function toSpkiPem(key: string): string {
  const trimmed = key.trim();
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) return trimmed;
  if (trimmed.startsWith('-----BEGIN')) throw new Error('the UCloud public key must be a PUBLIC KEY (SPKI), not ' + trimmed.split('\n')[0]);
  const b64 = trimmed.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('the UCloud public key is neither PEM nor base64 DER');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----`;
}

/** Imports the configured key for RS256; an EC or malformed key fails here, not per request. */
export async function importCoreKey(publicKey: string): Promise<CryptoKey> {
  try {
    return await importSPKI(toSpkiPem(publicKey), 'RS256');
  } catch (e) {
    throw new Error(`cannot use the configured UCloud public key: ${(e as Error).message}`, { cause: e });
  }
}

// One import per distinct key: the follow WebSocket and the HTTP adapter share it.
const keyCache = new Map<string, Promise<CryptoKey>>();
/** importCoreKey, cached per key string (a failed import is tried again next time). */
export function loadCoreKey(publicKey: string): Promise<CryptoKey> {
  let key = keyCache.get(publicKey);
  if (!key) {
    key = importCoreKey(publicKey);
    // A failed import is retried on the next call instead of being cached forever.
    key.catch(() => keyCache.delete(publicKey));
    keyCache.set(publicKey, key);
  }
  return key;
}

function reasonOf(e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return `token expired (${e.claim})`;
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim check failed: ${e.claim} (${e.reason})`;
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (e instanceof joseErrors.JOSEError) return `invalid token (${e.code})`;
  return `invalid token (${(e as Error)?.name ?? 'unknown'})`;
}

/**
 * Verifies a bearer token from UCloud/Core against the configuration and returns its claims.
 * Throws AuthError (message safe to log, never containing the token) when it is not acceptable.
 */
export async function verifyCoreToken(token: string, config: OperatorConfig, now: () => Date = () => new Date()): Promise<CoreClaims> {
  if (!token) throw new AuthError('no bearer token');
  let key: CryptoKey;
  try {
    key = await loadCoreKey(config.ucloud.publicKey);
  } catch (e) {
    throw new AuthError((e as Error).message);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['RS256'],
      issuer: config.ucloud.jwtIssuer,
      subject: CORE_SUBJECT,
      requiredClaims: ['exp', 'iat'],
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      clockTolerance: config.ucloud.clockToleranceSeconds,
      currentDate: now(),
    }));
  } catch (e) {
    throw new AuthError(reasonOf(e));
  }
  if (payload.role !== CORE_ROLE) throw new AuthError('role is not SERVICE');
  if (typeof payload.exp === 'number' && typeof payload.iat === 'number' && payload.exp - payload.iat > MAX_TOKEN_AGE_SECONDS) {
    throw new AuthError('token lifetime is longer than UCloud/Core issues');
  }
  // core2 always sets aud; a token without one (older Cores) is accepted, one for another audience is not.
  if (payload.aud !== undefined) {
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.includes(config.ucloud.jwtAudience)) throw new AuthError("aud is not UCloud/Core's");
  }
  return payload as CoreClaims;
}

export function createCoreTokenVerifier(config: OperatorConfig, now?: () => Date): CoreTokenVerifier {
  return (token) => verifyCoreToken(token, config, now);
}

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
  return m?.[1];
}

/** Express middleware: 401 unless the request carries a valid UCloud/Core token. */
export function requireCoreToken(verify: CoreTokenVerifier, logger: Logger, metrics: OperatorMetrics): RequestHandler {
  return (req, res, next) => {
    const reject = (reason: string) => {
      metrics.adapterRejected.inc({ reason: 'unauthenticated' });
      logger.warn('Rejected unauthenticated call', { method: req.method, path: req.path, reason, requestId: res.locals.requestId });
      next(new ProviderError(401, 'a valid UCloud/Core bearer token is required', 'UNAUTHENTICATED'));
    };
    const token = bearerToken(req.headers.authorization);
    if (!token) return reject(req.headers.authorization ? 'malformed authorization header' : 'no bearer token');
    verify(token).then(
      (claims) => {
        res.locals.claims = claims;
        next();
      },
      (e: unknown) => reject(e instanceof AuthError ? e.message : 'verification failed'),
    );
  };
}

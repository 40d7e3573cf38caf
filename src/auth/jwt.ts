// Bearer JWT authentication with jose. One verifier per process, built from
// configuration: an HS256 secret, a PEM public key (RS256 or ES256), or a
// JWKS file. Only the configured algorithms are accepted (so `alg: none` and
// algorithm-confusion tokens fail), and exp, nbf, iss and aud are checked.
import { readFileSync } from 'node:fs';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { DomainError } from '../errors';
import { ROLES, type Caller, type Role } from './caller';

// jose is an ES module; Node >= 20.19 loads it with require().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

export interface JwtConfig {
  secret?: string;
  publicKeyPem?: string;
  jwksFile?: string;
  issuer?: string;
  audience?: string;
  clockToleranceSec: number;
}

export type Verifier = (token: string) => Promise<Caller>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const unauthenticated = (why: string) => new DomainError('UNAUTHENTICATED', `Authentication failed: ${why}`);

type Verify = (token: string, options: Jose.JWTVerifyOptions) => Promise<Jose.JWTVerifyResult>;

async function keyFor(config: JwtConfig): Promise<{ verify: Verify; algorithms: string[] }> {
  if (config.jwksFile) {
    const jwks = jose.createLocalJWKSet(JSON.parse(readFileSync(config.jwksFile, 'utf8')) as Jose.JSONWebKeySet);
    return { verify: (token, options) => jose.jwtVerify(token, jwks, options), algorithms: ['RS256', 'ES256'] };
  }
  if (config.publicKeyPem) {
    const pem = config.publicKeyPem.replace(/\\n/g, '\n');
    // The PEM's key type decides the algorithm: RSA -> RS256, EC P-256 -> ES256.
    for (const alg of ['RS256', 'ES256']) {
      try {
        const key = await jose.importSPKI(pem, alg);
        return { verify: (token, options) => jose.jwtVerify(token, key, options), algorithms: [alg] };
      } catch {
        // try the next algorithm
      }
    }
    throw new Error('JWT_PUBLIC_KEY is not an RSA or EC P-256 public key in PEM (SPKI) form');
  }
  if (config.secret) {
    if (Buffer.byteLength(config.secret) < 32) throw new Error('JWT_SECRET must be at least 32 bytes for HS256');
    const key = new TextEncoder().encode(config.secret);
    return { verify: (token, options) => jose.jwtVerify(token, key, options), algorithms: ['HS256'] };
  }
  throw new Error('AUTH_MODE=jwt needs JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_FILE');
}

/** The caller described by verified claims; malformed claims are refused, not guessed at. */
export function callerFromClaims(payload: Jose.JWTPayload): Caller {
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw unauthenticated('the token has no subject (sub)');
  const roles = payload.roles;
  if (!Array.isArray(roles) || !roles.every((r): r is Role => ROLES.includes(r as Role))) {
    throw unauthenticated(`roles must be a list of ${ROLES.join(', ')}`);
  }
  const funds = payload.funds;
  // Exactly ["*"] means every fund; "*" beside ids is a malformed claim, not a wildcard.
  const everyFund = Array.isArray(funds) && funds.length === 1 && funds[0] === '*';
  if (!Array.isArray(funds) || (!everyFund && !funds.every((f) => typeof f === 'string' && UUID.test(f)))) {
    throw unauthenticated('funds must be a list of FUND node ids, or exactly ["*"]');
  }
  return {
    subject: payload.sub,
    roles: new Set(roles),
    funds: everyFund ? 'ALL' : new Set((funds as string[]).map((f) => f.toLowerCase())),
    authenticated: true,
  };
}

export async function createVerifier(config: JwtConfig): Promise<Verifier> {
  const { verify, algorithms } = await keyFor(config);
  return async (token) => {
    try {
      const { payload } = await verify(token, {
        algorithms,
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: config.clockToleranceSec,
        requiredClaims: ['exp'],
      });
      return callerFromClaims(payload);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      const code = (error as { code?: string }).code ?? 'ERR_JWT_INVALID';
      throw unauthenticated(code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token is not valid for this service');
    }
  };
}

/** The token of an `Authorization: Bearer <token>` header, or null when there is none. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*\.[A-Za-z0-9\-_]*)\s*$/i.exec(header);
  if (!match) throw unauthenticated('the Authorization header must be "Bearer <JWT>"');
  return match[1] as string;
}

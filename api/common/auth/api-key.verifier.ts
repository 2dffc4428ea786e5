/**
 * Turns a presented API key into a caller: the bootstrap key from MLCYCLE_ADMIN_KEY, or a stored, unrevoked key
 * found by its hash. Answers are cached for a few seconds (unknown keys too), so inference traffic is not one
 * database query per request; a revocation therefore reaches every API replica within `ttlMs`, and this replica at
 * once (the key-management controller calls `forget`).
 */
import { ROLES } from '../../../libs/registry';
import type { ApiKey, RegistryService, Role } from '../../../libs/registry';
import type { Caller, KeyVerifier } from '../request-context';
import { BOOTSTRAP_IDENTITY, hashApiKey } from './api-keys';

/** How long an answer about a key is reused: the longest a revoked key keeps working on another replica. */
export const API_KEY_CACHE_TTL_MS = 5_000;

/** Bounds the cache, so a flood of random keys cannot grow it without limit. */
const MAX_CACHED_KEYS = 10_000;

export interface ApiKeyVerifierOptions {
  ttlMs?: number;
  now?: () => number;
}

interface CacheEntry {
  expires: number;
  /** the promise itself is cached, so a burst of requests with a new key makes one query, not one each */
  caller: Promise<Caller | null>;
  /** the answer, once the lookup has settled */
  settled?: { caller: Caller | null };
}

export class ApiKeyVerifier implements KeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly bootstrapHash: string | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly registry: Pick<RegistryService, 'findApiKeyByHash'>,
    adminKey: string | undefined,
    options: ApiKeyVerifierOptions = {},
  ) {
    this.bootstrapHash = adminKey ? hashApiKey(adminKey) : undefined;
    this.ttlMs = options.ttlMs ?? API_KEY_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  async callerForKey(key: string): Promise<Caller | null> {
    const hash = hashApiKey(key);
    if (this.isBootstrap(hash)) return BOOTSTRAP_CALLER;
    const now = this.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expires > now) return cached.caller;

    const entry: CacheEntry = { expires: now + this.ttlMs, caller: this.registry.findApiKeyByHash(hash).then(toCaller) };
    this.remember(hash, entry);
    void entry.caller.then(
      (caller) => (entry.settled = { caller }),
      // A failed lookup (database down) is not an answer about the key: do not keep it.
      () => {
        if (this.cache.get(hash) === entry) this.cache.delete(hash);
      },
    );
    return entry.caller;
  }

  knownCaller(keyHash: string): Caller | null | undefined {
    if (this.isBootstrap(keyHash)) return BOOTSTRAP_CALLER;
    const cached = this.cache.get(keyHash);
    return cached && cached.expires > this.now() ? cached.settled?.caller : undefined;
  }

  private isBootstrap(keyHash: string): boolean {
    return this.bootstrapHash !== undefined && sameDigest(keyHash, this.bootstrapHash);
  }

  /** Drops what is known about a key (after revoking it here), or about every key. */
  forget(keyHash?: string): void {
    if (keyHash === undefined) this.cache.clear();
    else this.cache.delete(keyHash);
  }

  private remember(hash: string, entry: CacheEntry): void {
    this.cache.delete(hash); // re-insert at the end: Map order is the eviction order
    if (this.cache.size >= MAX_CACHED_KEYS) {
      const now = this.now();
      for (const [h, e] of this.cache) if (e.expires <= now) this.cache.delete(h);
      // Still full of live entries: drop the oldest.
      for (const h of this.cache.keys()) {
        if (this.cache.size < MAX_CACHED_KEYS) break;
        this.cache.delete(h);
      }
    }
    this.cache.set(hash, entry);
  }
}

const BOOTSTRAP_CALLER: Caller = Object.freeze({ id: BOOTSTRAP_IDENTITY, roles: Object.freeze(['admin']) as unknown as Role[], via: 'bootstrap' });

/** A stored key's caller; null when it is unknown or revoked. Roles the code does not know are ignored. */
function toCaller(row: ApiKey | null): Caller | null {
  if (!row || row.revokedAt) return null;
  const roles = (Array.isArray(row.roles) ? row.roles : []).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  return { id: row.identity, roles, via: 'api-key' };
}

/**
 * Two hex digests compared in constant time (every character, whatever differs first), without the two buffers
 * timingSafeEqual would need: this runs on every inference request.
 */
export function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

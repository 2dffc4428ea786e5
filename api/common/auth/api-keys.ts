/**
 * What an API key looks like and how it is stored: `mlc_` + 32 random bytes in base64url, kept only as its sha256
 * (hex) plus a short prefix for listings. A key has enough entropy that an unsalted fast hash is the right tool:
 * nobody can guess a preimage, and lookups stay one indexed query.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CALLER_ROLES } from '../../../libs/contracts';
import type { CallerRole } from '../../../libs/contracts';
import { ROLES } from '../../../libs/registry';
import type { Role } from '../../../libs/registry';

export const API_KEY_PREFIX = 'mlc_';

/** The identity of the key from MLCYCLE_ADMIN_KEY; no stored key may take it. */
export const BOOTSTRAP_IDENTITY = 'bootstrap-admin';

/**
 * Identities a stored key may not take, because the system already writes them as actors (`anonymous`, `system`,
 * `system:training-pipeline`, the bootstrap admin): a key named like them would make the audit log ambiguous.
 */
export function isReservedIdentity(identity: string): boolean {
  const id = identity.toLowerCase();
  return id === BOOTSTRAP_IDENTITY || id === 'anonymous' || id === 'system' || id.startsWith('system:');
}

/** A key as it travels in a header: printable ASCII without spaces, and not absurdly long. */
export const API_KEY_SHAPE = /^[\x21-\x7e]{1,512}$/;

/** A new random key; shown to its owner once and never stored. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Enough of the key to tell keys apart in a listing (`mlc_` and 8 characters: 48 of its 256 bits). */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 8);
}

/** The registry's roles and the contract's are one list; this fails to compile if they ever drift apart. */
const _sameRoles: [readonly Role[], readonly CallerRole[]] = [CALLER_ROLES, ROLES];
void _sameRoles;

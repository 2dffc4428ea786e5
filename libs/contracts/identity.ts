/**
 * Who is calling, as the API authenticated them, in the form workflows receive it. Temporal does not authenticate
 * the senders of signals and updates, so the API binds the caller's identity into every signal or update it sends,
 * and the workflow re-checks its rule on that identity with `hasRole` (the same rule the API's guard applies).
 * Pure TypeScript with no imports: workflow code imports it.
 */

/** The roles an API key can carry; `admin` implies every other. `service` may only call inference. */
export const CALLER_ROLES = ['admin', 'data-scientist', 'reviewer', 'service'] as const;
export type CallerRole = (typeof CALLER_ROLES)[number];

export interface CallerIdentity {
  /** the key's identity: recorded as owner, requestedBy, reviewer and audit actor */
  id: string;
  /** plain strings, so a role added later does not break replay of histories that carry identities */
  roles: string[];
}

/**
 * Whether the caller holds one of `roles`. `admin` implies every role; with no roles named, only admin passes
 * (the same fail-safe rule as a route without `@Roles`).
 */
export function hasRole(caller: CallerIdentity | null | undefined, ...roles: string[]): boolean {
  if (!caller || !Array.isArray(caller.roles)) return false;
  return caller.roles.includes('admin') || roles.some((role) => caller.roles.includes(role));
}

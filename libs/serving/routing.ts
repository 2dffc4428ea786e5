/**
 * Traffic routing of one model, pure: which version answers a request (weighted random, or sticky by a caller
 * key) and whether the request is mirrored to the shadow version. A `RoutingTable` is built once per deployment
 * revision and then read by every request, so picking is a few comparisons.
 */
import type { RouteWeight, ShadowTarget } from '../registry';

/** Resolution of the routing wheel: weights are percentages, buckets are hundredths of a percent. */
export const ROUTING_BUCKETS = 10_000;

export interface RoutingTable {
  modelName: string;
  revision: number;
  /** versions with traffic, ascending, and the upper bucket bound of each on the wheel (empty: no traffic) */
  wheel: { version: number; upTo: number }[];
  /** every version the table keeps loaded: routed ones, weight-0 ones (kept warm), and the shadow */
  versions: number[];
  shadow: ShadowTarget | null;
  /** lower-case request header whose value pins a caller to one version, or null */
  stickyKeyHeader: string | null;
}

export class RoutingError extends Error {}

/**
 * Builds the wheel. Versions are laid out in ascending order, so when a canary (the higher version) grows, it
 * extends over buckets that were the old version's and no sticky caller ever moves back and forth.
 */
export function buildRoutingTable(
  modelName: string,
  revision: number,
  routes: RouteWeight[],
  shadow: ShadowTarget | null,
  stickyKeyHeader: string | null,
): RoutingTable {
  const seen = new Set<number>();
  for (const r of routes) {
    if (!Number.isInteger(r.version) || r.version < 1) throw new RoutingError(`route version ${r.version} is not a positive integer`);
    if (!(r.weight >= 0 && r.weight <= 100)) throw new RoutingError(`route weight ${r.weight} of version ${r.version} is not within 0..100`);
    if (seen.has(r.version)) throw new RoutingError(`version ${r.version} appears twice in the routes`);
    seen.add(r.version);
  }
  const total = routes.reduce((s, r) => s + r.weight, 0);
  // No routes at all is valid: the model takes no traffic (a rollback of a first version leaves it so).
  if (routes.length && Math.abs(total - 100) > 1e-6) throw new RoutingError(`route weights add up to ${total}, not 100`);
  if (shadow && !(shadow.share >= 0 && shadow.share <= 100)) throw new RoutingError(`shadow share ${shadow.share} is not within 0..100`);
  const sorted = [...routes].sort((a, b) => a.version - b.version);
  const wheel: RoutingTable['wheel'] = [];
  let acc = 0;
  for (const r of sorted) {
    if (r.weight <= 0) continue;
    acc += r.weight;
    wheel.push({ version: r.version, upTo: Math.round((acc / 100) * ROUTING_BUCKETS) });
  }
  if (wheel.length) wheel[wheel.length - 1].upTo = ROUTING_BUCKETS; // rounding never leaves a gap at the top
  const versions = new Set(sorted.map((r) => r.version));
  if (shadow) versions.add(shadow.version);
  return {
    modelName,
    revision,
    wheel,
    versions: [...versions].sort((a, b) => a - b),
    shadow: shadow && shadow.share > 0 ? shadow : null,
    stickyKeyHeader: stickyKeyHeader ? stickyKeyHeader.toLowerCase() : null,
  };
}

/** FNV-1a, 32 bit: fast, well spread for short keys, and the same in every process (unlike a seeded hash). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    // UTF-16 code units, both bytes, so non-ASCII keys spread as well as ASCII ones.
    h ^= c & 0xff;
    h = Math.imul(h, 0x01000193);
    c >>>= 8;
    if (c) {
      h ^= c;
      h = Math.imul(h, 0x01000193);
    }
  }
  // A final avalanche (murmur3's fmix32): FNV alone leaves similar keys ("user-1", "user-2") in nearby buckets.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket of a sticky key: depends on the model and the key only, not on the revision or the weights. */
export function stickyBucket(modelName: string, key: string): number {
  return fnv1a32(`${modelName}\u0000${key}`) % ROUTING_BUCKETS;
}

function versionAt(table: RoutingTable, bucket: number): number {
  for (const slot of table.wheel) if (bucket < slot.upTo) return slot.version;
  return table.wheel[table.wheel.length - 1].version;
}

/**
 * The version that answers: the sticky key's bucket when the table has a sticky header and the request carries
 * it, otherwise a uniformly random bucket. `random` is injectable for tests.
 */
export function pickVersion(table: RoutingTable, stickyKey: string | undefined, random: () => number = Math.random): { version: number; sticky: boolean } {
  if (!table.wheel.length) throw new RoutingError(`revision ${table.revision} of '${table.modelName}' routes no traffic`);
  if (table.wheel.length === 1) return { version: table.wheel[0].version, sticky: Boolean(stickyKey && table.stickyKeyHeader) };
  if (stickyKey && table.stickyKeyHeader) return { version: versionAt(table, stickyBucket(table.modelName, stickyKey)), sticky: true };
  return { version: versionAt(table, Math.floor(random() * ROUTING_BUCKETS)), sticky: false };
}

/** Whether to mirror this request to the shadow version (never to the version that already answered). */
export function shouldMirror(table: RoutingTable, answeredBy: number, random: () => number = Math.random): number | null {
  const shadow = table.shadow;
  if (!shadow || shadow.version === answeredBy) return null;
  return random() * 100 < shadow.share ? shadow.version : null;
}

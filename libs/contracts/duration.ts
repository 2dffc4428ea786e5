/** Durations as the spec writes them ('500ms', '30s', '10m', '2h', '3d'), in milliseconds; pure, for workflows too. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`'${text}' is not a duration such as '500ms', '30s', '10m', '2h' or '3d'`);
  return Number(match[1]) * UNITS[match[2]];
}

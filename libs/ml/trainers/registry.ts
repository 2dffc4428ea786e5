/** The built-in trainers by name. External (process) trainers live in libs/ml/external and are looked up there. */
import { gbdtTrainer } from './gbdt/gbdt';
import { logisticRegressionTrainer, ridgeTrainer } from './linear';
import type { Trainer } from './types';
import { UnknownTrainerError } from './types';

const TRAINERS: ReadonlyMap<string, Trainer> = new Map(
  [gbdtTrainer, logisticRegressionTrainer, ridgeTrainer].map((t) => [t.name, t] as const),
);

/** Names of the built-in trainers, sorted. */
export const BUILTIN_TRAINERS: readonly string[] = Object.freeze([...TRAINERS.keys()].sort());

export function isBuiltinTrainer(name: string): boolean {
  return TRAINERS.has(name);
}

/**
 * The built-in trainer called `name`. `extraNames` (e.g. registered external trainers) are only listed in the
 * error so the message names everything the user could have meant.
 */
export function getTrainer(name: string, extraNames: string[] = []): Trainer {
  const trainer = TRAINERS.get(name);
  if (trainer) return trainer;
  throw new UnknownTrainerError(name, [...new Set([...BUILTIN_TRAINERS, ...extraNames])].sort());
}

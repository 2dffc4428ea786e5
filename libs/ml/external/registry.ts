/**
 * External trainers are commands registered on the worker side by name in a JSON file; the API and the model spec
 * only ever carry the name, never a command line, so nobody can make a worker run arbitrary programs.
 *
 * File format: { "<name>": { "command": ["python3", "./sklearn_trainer.py"], "description": "...", "timeoutMs": 3600000 } }
 * Arguments that start with "./" or "../" are resolved against the registry file's folder, so a registry can sit
 * next to its scripts and be used from any working directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

export interface ExternalTrainerEntry {
  name: string;
  command: string[];
  description: string;
  /** per-trainer limit; the caller's timeout applies when absent */
  timeoutMs?: number;
}

export type ExternalTrainerRegistry = Record<string, ExternalTrainerEntry>;

export class ExternalTrainerRegistryError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`external trainer registry ${file}: ${message}`);
    this.name = 'ExternalTrainerRegistryError';
  }
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

const entrySchema = z
  .object({
    command: z.array(z.string().min(1)).min(1, 'command needs at least the program to run'),
    description: z.string().default(''),
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict();

const registrySchema = z.record(entrySchema);

/** Reads and validates a registry file; every problem is reported at once. */
export function loadExternalTrainerRegistry(file: string): ExternalTrainerRegistry {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ExternalTrainerRegistryError(file, `cannot be read: ${(err as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new ExternalTrainerRegistryError(file, `is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = registrySchema.safeParse(document);
  if (!parsed.success) {
    throw new ExternalTrainerRegistryError(
      file,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    );
  }
  const dir = path.dirname(path.resolve(file));
  const registry: ExternalTrainerRegistry = {};
  const badNames = Object.keys(parsed.data).filter((name) => !NAME.test(name));
  if (badNames.length > 0) {
    throw new ExternalTrainerRegistryError(
      file,
      `trainer names must be lowercase letters, digits, '_' and '-' (as in the model spec): ${badNames.map((n) => `'${n}'`).join(', ')}`,
    );
  }
  for (const [name, entry] of Object.entries(parsed.data)) {
    registry[name] = {
      name,
      description: entry.description,
      timeoutMs: entry.timeoutMs,
      command: entry.command.map((arg) => (arg.startsWith('./') || arg.startsWith('../') ? path.resolve(dir, arg) : arg)),
    };
  }
  return registry;
}

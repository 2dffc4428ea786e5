/**
 * Jest globalSetup of the `unit` project: only the run's scratch directory, no servers, so unit runs stay fast.
 * Its own module (not global-setup.ts) because jest runs a module shared by several projects once, with one
 * project's config: see global-setup.ts.
 */
import { prepareScratchDirectory } from './global-setup';

export default function unitGlobalSetup(): void {
  prepareScratchDirectory();
}

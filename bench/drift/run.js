#!/usr/bin/env node
/**
 * Runs bench/drift/benchmark.ts straight from TypeScript: ts-node is not a dependency, so the project's
 * transpile-on-require hook (scripts/ts-register.js) goes in first. The benchmark starts itself
 * again through this file (with --worker) to measure mlcycle in a process of its own.
 */
require('../../scripts/ts-register.js');
require('./benchmark.ts');

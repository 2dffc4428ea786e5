#!/usr/bin/env node
/**
 * Runs bench/training/benchmark.ts straight from TypeScript: ts-node is not a dependency, so the project's
 * transpile-on-require hook (scripts/ts-register.js) goes in first.
 */
require('../../scripts/ts-register.js');
require('./benchmark.ts');

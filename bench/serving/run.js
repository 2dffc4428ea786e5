#!/usr/bin/env node
/**
 * Runs bench/serving/benchmark.ts straight from TypeScript: ts-node is not a dependency, so the project's
 * transpile-on-require hook (scripts/ts-register.js) goes in first. The servers under
 * test run from compiled output (dist/), which the benchmark builds first.
 */
require('../../scripts/ts-register.js');
require('./benchmark.ts');

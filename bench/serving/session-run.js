#!/usr/bin/env node
/** Runs bench/serving/session-run.ts straight from TypeScript (see run.js). */
require('../../scripts/ts-register.js');
require('./session-run.ts');

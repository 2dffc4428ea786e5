#!/usr/bin/env node
/**
 * Runs bench/drift/benchmark.ts straight from TypeScript: ts-node is not a dependency, so this installs a minimal
 * transpile-on-require hook with the `typescript` compiler (a devDependency) first. The benchmark starts itself
 * again through this file (with --worker) to measure mlcycle in a process of its own.
 */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  });
  module._compile(out.outputText, filename);
};
require('./benchmark.ts');

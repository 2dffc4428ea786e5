#!/usr/bin/env node
/**
 * Runs bench/serving/benchmark.ts straight from TypeScript: ts-node is not a dependency, so this installs a
 * minimal transpile-on-require hook with the `typescript` compiler (a devDependency) first. The servers under test
 * run from compiled output (dist/), which the benchmark builds first.
 */
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      inlineSourceMap: true,
    },
  });
  module._compile(out.outputText, filename);
};
require('./benchmark.ts');

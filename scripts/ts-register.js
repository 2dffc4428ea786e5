/**
 * `node -r ./scripts/ts-register.js some/entry.ts`: runs a TypeScript entry point from sources, for tests that start
 * the project's own programs as processes (node:cluster forks inherit the flag, so a process group works too) and for
 * the benchmarks' run.js files. A transpile-on-require hook on the `typescript` compiler: no type checking, which
 * tsc does in `npm test`.
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

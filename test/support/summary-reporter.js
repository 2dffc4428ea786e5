/**
 * Jest reporter that hands the run's counts to deploy/launch.mjs (through the file named by
 * MLCYCLE_TEST_SUMMARY_FILE), which prints them as the very last line of `npm test`:
 * "Tests: N passed, N failed, N skipped" — after jest's summary and anything jest says after it, in a fixed order
 * that CI tooling reading a closing count line understands (jest's own line has no fixed order).
 * Plain CommonJS: jest loads reporters without transforming them.
 */
const fs = require('node:fs');

class SummaryFileReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.MLCYCLE_TEST_SUMMARY_FILE;
    if (!file) return;
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      failedSuites: results.numFailedTestSuites,
      runtimeErrorSuites: results.numRuntimeErrorTestSuites,
    };
    fs.writeFileSync(file, JSON.stringify(summary));
  }
}
module.exports = SummaryFileReporter;

#!/usr/bin/env node
// Adds up the results the test command wrote (Jest JSON reports and
// single-check files) and prints one closing line: "N passed, N failed".
// Exits non-zero when anything failed or a suite left no report.
const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
const expected = (process.argv[3] ?? '').split(',').filter(Boolean);
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];

for (const file of fs.readdirSync(dir).sort()) {
  const full = path.join(dir, file);
  if (file.endsWith('.jest.json')) {
    const report = JSON.parse(fs.readFileSync(full, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    // A suite that fails to load has no failed tests but must still count.
    for (const suite of report.testResults) {
      if (suite.status === 'failed' && suite.assertionResults.length === 0) {
        failed += 1;
        problems.push(
          `${path.relative(process.cwd(), suite.name)} failed to run`,
        );
      }
    }
  } else if (file.endsWith('.check.json')) {
    const check = JSON.parse(fs.readFileSync(full, 'utf8'));
    passed += check.passed;
    failed += check.failed;
    if (check.failed) problems.push(`${check.name} failed`);
  }
}
for (const name of expected) {
  if (!fs.existsSync(path.join(dir, `${name}.jest.json`))) {
    failed += 1;
    problems.push(`${name} left no report`);
  }
}

for (const problem of problems) console.log(`FAILED: ${problem}`);
console.log(
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

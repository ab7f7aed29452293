/**
 * `npm run docs`: writes what the settings registry documents: the configuration tables of the README and docs/
 * (between their "generated" markers) and the stack file's JSON Schema for editors. Run it after changing a setting;
 * the tests fail until the committed files match.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DOCUMENTED_FILES, STACK_SCHEMA_FILE, stackSchema, withGeneratedTables } from "../components/config/docs";

const ROOT = path.resolve(__dirname, "..");

for (const file of DOCUMENTED_FILES) {
  const full = path.join(ROOT, file);
  const before = fs.readFileSync(full, "utf8");
  const after = withGeneratedTables(before);
  if (after !== before) fs.writeFileSync(full, after);
  process.stdout.write(`${file}: ${after === before ? "up to date" : "tables rewritten"}\n`);
}
const schema = `${JSON.stringify(stackSchema(), null, 2)}\n`;
fs.writeFileSync(path.join(ROOT, STACK_SCHEMA_FILE), schema);
process.stdout.write(`${STACK_SCHEMA_FILE}: written\n`);

/**
 * Fake command-line tools for the tests of the npm scripts that run `pulumi`, `docker` or `ssh`: each fake logs how it
 * was called (and the passphrase file it was handed) and exits as the test says.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A fake tool: logs `name args | PULUMI_CONFIG_PASSPHRASE_FILE` to $FAKE_LOG, prints $FAKE_<NAME>_<COMMAND>_OUT, and
 * exits with $FAKE_<NAME>_<COMMAND> (e.g. FAKE_PULUMI_STACK_SELECT) or 0.
 */
export function fakeTool(bin: string, name: string): void {
  fs.writeFileSync(
    path.join(bin, name),
    `#!/bin/sh
echo "${name} $* | passphrase_file=\${PULUMI_CONFIG_PASSPHRASE_FILE:-}" >> "$FAKE_LOG"
case "$1" in stack) sub="$1_$2" ;; *) sub="$1" ;; esac
key=$(echo "FAKE_${name}_$sub" | tr 'a-z-' 'A-Z_')
eval "out=\\\${\${key}_OUT:-}"
[ -n "$out" ] && echo "$out"
eval "code=\\\${$key:-0}"
exit "$code"
`,
    { mode: 0o755 },
  );
}

/** A directory with node (for ts-node's `#!/usr/bin/env node`) and tr (used by the fakes), and nothing else. */
export function toolbinIn(dir: string): string {
  const toolbin = path.join(dir, "toolbin");
  fs.mkdirSync(toolbin, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(toolbin, "node"));
  const tr = ["/usr/bin/tr", "/bin/tr"].find((candidate) => fs.existsSync(candidate));
  if (!tr) throw new Error("tr not found in /usr/bin or /bin");
  fs.symlinkSync(tr, path.join(toolbin, "tr"));
  return toolbin;
}

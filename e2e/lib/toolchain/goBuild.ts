/**
 * How the suite runs `go build` for its toolchains: Go's environment, and the flags that decide how long a cold
 * build takes.
 */

/** Go's environment for the builds: the committed go.sum files are the only source of module hashes. */
export function goEnv(tmpDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOFLAGS: "-mod=readonly -trimpath",
    // The module proxy serves this language-host version but the checksum database has no record of it: its
    // hash is pinned in e2e/toolchain/language-nodejs/go.sum instead.
    GONOSUMDB: "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs",
    GOTMPDIR: tmpDir,
  };
}

/** The flags of one build; both make a cold build faster and neither changes what the program does. */
export interface GoBuild {
  /**
   * false: `-gcflags=all=-N -l`, the compiler's optimisations and inlining off for every package. The suite's
   * binaries serve one test cluster or one test stack, where compile time matters and run time hardly does.
   */
  optimize: boolean;
  /** true: `-ldflags=-s -w`, no symbol table and no DWARF, so the linker writes far less. */
  strip: boolean;
}

/** The arguments of `go build` for `target` into `output`, with extra `-X` settings in `ldflags`. */
export function goBuildArgs(build: GoBuild, output: string, target: string, ldflags: string[] = []): string[] {
  const linkerFlags = [...(build.strip ? ["-s", "-w"] : []), ...ldflags];
  return [
    "build",
    ...(build.optimize ? [] : ["-gcflags=all=-N -l"]),
    ...(linkerFlags.length ? ["-ldflags", linkerFlags.join(" ")] : []),
    "-o",
    output,
    target,
  ];
}

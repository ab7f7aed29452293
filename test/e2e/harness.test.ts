/**
 * The real-engine suite's own helpers that decide what a failure report says and which host ports a stack gets.
 */
import * as fs from "node:fs";
import { createServer } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { candidateRange, freeHostPorts, parseEphemeralRange } from "../../e2e/lib/core/ports";
import { lockCache } from "../../e2e/lib/core/lock";
import { CommandError, diagnosticsSection } from "../../e2e/lib/core/proc";
import { readmeVerifyBlock } from "../../e2e/lib/scenarios/readme";

describe("host ports for the suite's stacks", () => {
  it("reads the kernel's ephemeral range and falls back to Linux's default on odd text", () => {
    expect(parseEphemeralRange("32768\t60999\n")).toEqual([32768, 60999]);
    expect(parseEphemeralRange("1024 65535")).toEqual([1024, 65535]);
    expect(parseEphemeralRange(undefined)).toEqual([32768, 60999]);
    expect(parseEphemeralRange("60999 32768")).toEqual([32768, 60999]);
  });

  it("picks below the ephemeral range, above it when there is no room below, and refuses when neither has room", () => {
    expect(candidateRange([32768, 60999])).toEqual([10000, 32767]);
    expect(candidateRange([10500, 60000])).toEqual([60001, 65535]);
    expect(() => candidateRange([1024, 65000])).toThrow(/ephemeral port range 1024-65000/);
  });

  it("gives distinct ports in the range that nothing listens on", async () => {
    const ports = await freeHostPorts(3, [20000, 20009]);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20000);
      expect(port).toBeLessThanOrEqual(20009);
    }
  });

  it("skips a port that is taken and says so when too few are free", async () => {
    const server = createServer();
    const taken = await new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
    try {
      await expect(freeHostPorts(1, [taken, taken])).rejects.toThrow(`found 0 of 1 free ports in ${taken}-${taken}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("a failed pulumi command's report", () => {
  const failedUp = [
    "Updating (e2e-eddsa):",
    " +  docker:index/container:Container supabase-kong creating (1s) error: unable to start container",
    "Diagnostics:",
    "  docker:index/container:Container (supabase-kong):",
    "    error: Unable to start container: Error starting userland proxy: listen tcp4 127.0.0.1:44111: bind: address already in use",
    "",
    "  pulumi:pulumi:Stack (supabase-selfhosted-e2e-eddsa):",
    "    error: update failed",
    "",
    "Outputs:",
    ...Array.from({ length: 40 }, (_, i) => `    output${i}: "value"`),
    "",
    "Resources:",
    "    + 46 created",
    "    2 errored",
    "",
    "Duration: 27s",
  ].join("\n");

  it("keeps the Diagnostics section up to the next heading", () => {
    const section = diagnosticsSection(failedUp)!;
    expect(section.split("\n")[0]).toBe("Diagnostics:");
    expect(section).toContain("bind: address already in use");
    expect(section).toContain("error: update failed");
    expect(section).not.toContain("Outputs:");
    expect(diagnosticsSection("Resources:\n    1 unchanged\n")).toBeUndefined();
  });

  it("names the failed resource even when the outputs push it out of the tail", () => {
    const error = new CommandError("pulumi up", { status: 1, stdout: failedUp, stderr: "", seconds: 26.9 });
    expect(error.message).toContain("command failed (exit 1 after 26.9 s): pulumi up");
    expect(error.message).toContain("supabase-kong");
    expect(error.message).toContain("bind: address already in use");
    expect(error.message).toContain("2 errored");
  });
});

describe("the README quick start the suite runs", () => {
  it("is the README's own verify block, every command through npm run pulumi (no passphrase in a new shell)", () => {
    const block = readmeVerifyBlock(fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8"));
    expect(block).toMatch(/^npm run verify -- --url/);
    const substitutions = [...block.matchAll(/\$\(([^)]*)\)/g)].map((m) => m[1]);
    expect(substitutions).toHaveLength(3);
    for (const command of substitutions) expect(command).toMatch(/^npm run -s pulumi -- stack output /);
  });
});

describe("one suite at a time per cache", () => {
  it("a second run waits for a live holder, takes over a dead one's lock, and releases its own", async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "lock-"));
    const release = await lockCache(cache, () => {});
    const lockFile = path.join(cache, "suite.lock");
    expect(fs.readFileSync(lockFile, "utf8").trim()).toBe(String(process.pid));
    // Held by a live process (this one): the next run waits, and gives up at its bound.
    await expect(lockCache(cache, () => {}, 0.05, 0.01)).rejects.toThrow(/another e2e suite \(pid \d+\) has held/);
    release();
    expect(fs.existsSync(lockFile)).toBe(false);
    // A lock whose holder is gone is taken over.
    fs.writeFileSync(lockFile, "999999999\n");
    const messages: string[] = [];
    const again = await lockCache(cache, (t) => messages.push(t));
    expect(messages.join()).toMatch(/its holder 999999999 no longer runs/);
    again();
    fs.rmSync(cache, { recursive: true, force: true });
  });
});

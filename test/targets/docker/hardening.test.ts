/**
 * How every container runs: rotated logs, no privilege gains, the capabilities its image does not need dropped, and
 * the memory limits the `containers` setting gives.
 */
import { describe, expect, it } from "vitest";
import { supabaseProgram } from "../../../components/program";
import { SERVICES } from "../../../components/services/index";
import { UNNEEDED_CAPABILITIES } from "../../../components/services/service";
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import { declare } from "../../support/shapes";
import { BACKUP_S3 } from "../../support/world";

const K1 = [{ name: "k1", state: "current" }];

async function containers(config: Record<string, unknown>) {
  const { declared } = await declare(config, supabaseProgram);
  return new Map(
    declared
      .filter((r) => r.type === RESOURCE_TYPES.container)
      .map((r) => [r.name.replace(/^supabase-/, ""), r.inputs]),
  );
}

describe("every container", () => {
  it("rotates its log, gains no privileges, and drops the capabilities its image does not use", async () => {
    const running = await containers({
      signingKeys: K1,
      functions: { enabled: true },
      apiExternalUrl: "https://api.example.com",
      tls: { mode: "internal" },
      backup: { s3: BACKUP_S3 },
    });
    expect(running.size).toBe(SERVICES.length);
    for (const [role, inputs] of running) {
      expect(inputs.logDriver, role).toBe("json-file");
      expect(inputs.logOpts, role).toEqual({ "max-size": "10m", "max-file": "3" });
      expect(inputs.securityOpts, role).toEqual(["no-new-privileges:true"]);
      const drops = (inputs.capabilities as { drops: string[] }).drops;
      // Images that run their process as a user drop every capability; the others keep what an entrypoint needs.
      // The off-site copy runs rclone as root and keeps only what reads the archive's postgres-owned files.
      if (role === "backup-s3") {
        expect(drops, role).not.toContain("DAC_OVERRIDE");
        expect(drops, role).toEqual(
          expect.arrayContaining([...UNNEEDED_CAPABILITIES, "CHOWN", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"]),
        );
      } else expect(drops, role).toEqual(["auth", "kong", "tls"].includes(role) ? ["ALL"] : [...UNNEEDED_CAPABILITIES]);
      expect(inputs.memory, role).toBeUndefined();
    }
  });

  it("takes the log rotation and the memory limits from the containers setting", async () => {
    const running = await containers({
      signingKeys: K1,
      containers: { logMaxSize: "50m", logMaxFiles: 5, memoryMb: { db: 2048, realtime: 512 } },
    });
    expect(running.get("kong")?.logOpts).toEqual({ "max-size": "50m", "max-file": "5" });
    expect(running.get("db")?.memory).toBe(2048);
    expect(running.get("realtime")?.memory).toBe(512);
    expect(running.get("auth")?.memory).toBeUndefined();
  });

  it("refuses a memory limit for a service the stack does not have, or a log size Docker cannot read", async () => {
    await expect(
      declare({ signingKeys: K1, containers: { memoryMb: { postgres: 512 } } }, supabaseProgram),
    ).rejects.toThrow(
      "supabase-selfhosted:containers.memoryMb.postgres: is not a service of this stack; allowed: db, backup, backup-s3, auth",
    );
    await expect(declare({ signingKeys: K1, containers: { logMaxSize: "10MB" } }, supabaseProgram)).rejects.toThrow(
      'supabase-selfhosted:containers.logMaxSize: must be a size such as 10m (k, m or g), got "10MB"',
    );
  });
});

/** The env digest shipped to containers so previews show env changes (components/targets/envDigest.ts). */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ENV_DIGEST_FILE, envDigestFile } from "../../components/targets/envDigest";

describe("envDigestFile", () => {
  it("is the sha256 of the entries in order, one file at a fixed path", () => {
    const envs = ["A=1", "B=two"];
    const expected = createHash("sha256").update("A=1\0B=two\0").digest("hex");
    expect(envDigestFile(envs)).toEqual({ file: ENV_DIGEST_FILE, content: `${expected}\n` });
  });

  it("changes exactly when the environment does, entry boundaries included", () => {
    expect(envDigestFile(["A=1", "B=2"]).content).toBe(envDigestFile(["A=1", "B=2"]).content);
    expect(envDigestFile(["A=1", "B=2"]).content).not.toBe(envDigestFile(["A=1", "B=3"]).content);
    expect(envDigestFile(["A=1", "B=2"]).content).not.toBe(envDigestFile(["B=2", "A=1"]).content);
    expect(envDigestFile(["A=1B=2"]).content).not.toBe(envDigestFile(["A=1", "B=2"]).content);
  });
});

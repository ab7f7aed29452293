/**
 * `pulumi up` killed (SIGKILL, as a crash or an OOM killer would) in the middle of a key promotion, once the engine
 * has started replacing auth. Then what a user runs: `pulumi up` again, and only when the CLI asks for it, the
 * command it names (`pulumi cancel` for a stack lock, `pulumi refresh --clear-pending-creates` for operations left
 * pending), recorded in the check's detail. The checks: the update converges (a preview changes nothing), no signing
 * key is lost or regenerated (the same kids, creation times and current key), the guard's record is the promotion's,
 * and the session from before the promotion keeps working and refreshes.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { decodeProtectedHeader } from "jose";
import { RESOURCE_TYPES } from "../../../components/targets/resourceTypes";
import { poll } from "../core/proc";
import { revealed, stateResources } from "../engines/pulumi/state";
import type { BackupStack } from "./backupStack";

/** Each key's kid and creation time, and the guard's remembered ring, from the state file. */
async function keysInState(stack: BackupStack): Promise<{ keys: Record<string, string>; ring: unknown }> {
  const resources = stateResources(await stack.project.exportState(true));
  const keys = Object.fromEntries(
    resources
      .filter((r) => r.type === RESOURCE_TYPES.signingKey)
      .map((r) => {
        const outputs = revealed(r.outputs) as Record<string, unknown>;
        return [r.urn.split("::").pop()!, `${String(outputs.kid)} created ${String(outputs.createdAt)}`];
      }),
  );
  const guard = resources.find((r) => r.type === RESOURCE_TYPES.rotationGuard);
  return { keys, ring: (revealed(guard?.outputs) as Record<string, unknown> | undefined)?.ring };
}

/** Starts `pulumi up` and SIGKILLs its process group once the engine reports a step on auth's container. */
async function upKilledOnAuth(stack: BackupStack): Promise<string> {
  const { project } = stack;
  const log = path.join(path.dirname(project.dir), "events-killed-promote.jsonl");
  const child = spawn(
    "pulumi",
    ["up", "--yes", "--skip-preview", "--event-log", log, "--stack", project.stack, "--non-interactive"],
    { cwd: project.dir, env: project.env, detached: true, stdio: "ignore" },
  );
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let finished = false;
  void exited.then(() => (finished = true));
  const seen = await poll(
    async () => {
      if (finished) return "finished";
      const events = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
      return /"resourcePreEvent":\{"metadata":\{"op":"[a-z-]+","urn":"[^"]*::supabase-auth"/.test(events)
        ? "auth"
        : undefined;
    },
    3000,
    100,
  );
  if (seen !== "auth")
    throw new Error(`pulumi up ${seen === "finished" ? "finished" : "never reached auth"} before it could be killed`);
  process.kill(-child.pid!, "SIGKILL");
  await exited;
  return log;
}

/**
 * The file backend's state files keep their metadata beside them in `<file>.attrs`, which gocloud.dev's fileblob
 * rewrites in place (blob/fileblob/attrs.go `setAttrs`: `os.Create`, then the JSON), unlike the state itself (a temp
 * file renamed over it): a kill between the two leaves it empty, and every command then stops with `failed to load
 * checkpoint: EOF`. Removing the empty file is what the README tells users to do (fileblob reads a missing one as
 * the default content type). Returns what it removed, for the check's detail.
 */
function removeEmptyAttrs(stack: BackupStack): string[] {
  const backend = (stack.project.env.PULUMI_BACKEND_URL ?? "").replace(/^file:\/\//, "");
  const stacks = path.join(backend, ".pulumi", "stacks");
  const empty = (fs.readdirSync(stacks, { recursive: true }) as string[])
    .map((f) => path.join(stacks, f))
    .filter((f) => f.endsWith(".attrs") && fs.statSync(f).size === 0);
  if (empty.length === 0) throw new Error(`failed to load checkpoint: EOF, and no empty .attrs file under ${stacks}`);
  for (const file of empty) fs.rmSync(file);
  return empty.map((f) => `rm ${path.relative(backend, f)} (empty)`);
}

/** `pulumi up` until it succeeds, running the command the CLI names when it refuses; the commands it took. */
async function recover(stack: BackupStack): Promise<string[]> {
  const { project } = stack;
  const ran: string[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const up = await project.pulumi(["up", "--yes", "--skip-preview", "--stack", project.stack], {
      allowFailure: true,
    });
    const said = `${up.stdout}\n${up.stderr}`;
    const error = said.split("\n").find((line) => /^error:/.test(line.trim()));
    ran.push(`pulumi up (exit ${up.status}${error ? `: ${error.trim()}` : ""})`);
    if (up.status === 0) {
      const pending = said.split("\n").find((line) => /pending operation/i.test(line));
      if (pending) ran.push(`(it warned: ${pending.trim()})`);
      return ran;
    }
    if (/locked/i.test(said)) {
      await project.pulumi(["cancel", "--yes", "--stack", project.stack]);
      ran.push("pulumi cancel --yes");
    } else if (/failed to load checkpoint: EOF/.test(said)) {
      ran.push(...removeEmptyAttrs(stack));
    } else if (/pending/i.test(said)) {
      await project.pulumi(["refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", project.stack]);
      ran.push("pulumi refresh --clear-pending-creates --yes");
    } else throw new Error(`pulumi up failed with nothing to run for it:\n${said.split("\n").slice(-15).join("\n")}`);
  }
  throw new Error(`pulumi up did not succeed after ${ran.join(", ")}`);
}

/** The fault and its four checks. */
export async function killPulumiDuringPromotion(stack: BackupStack): Promise<void> {
  const { ctx, project, user, outputs } = stack;
  const { rec } = ctx;
  await project.keys(["add-standby", "k2", "--algorithm", "ES256"]);
  await project.up("backup-add-standby");
  const session = await user.signIn(outputs.anonKey);
  const before = await keysInState(stack);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // jwksCacheSeconds is 1 here
  await project.keys(["promote", "k2"]);
  const killed = await upKilledOnAuth(stack).catch((error: Error) => error);
  if (killed instanceof Error) {
    rec.check("fault:pulumi-killed-converges", false, killed.message);
    return;
  }
  let commands: string[] = [];
  await rec.attempt("fault:pulumi-killed-converges", async () => {
    commands = await recover(stack);
    await project.pulumi(["preview", "--expect-no-changes", "--stack", project.stack]);
    return `pulumi up killed (SIGKILL) once the engine began replacing auth; then: ${commands.join(" → ")}; a preview changes nothing`;
  });
  const after = await keysInState(stack);
  const current = (await project.outputs()) as Record<string, string>;
  await rec.attempt("fault:pulumi-killed-keys-kept", () => {
    if (JSON.stringify(after.keys) !== JSON.stringify(before.keys))
      throw new Error(`keys before ${JSON.stringify(before.keys)}, after ${JSON.stringify(after.keys)}`);
    const k2 = after.keys["supabase-key-k2"]?.split(" ")[0];
    if (current.currentKid !== k2) throw new Error(`currentKid ${current.currentKid} is not k2's ${k2}`);
    return `both keys kept as they were (${Object.entries(after.keys)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; ")}); k2 is current`;
  });
  await rec.attempt("fault:pulumi-killed-guard-consistent", () => {
    const ring = (after.ring ?? []) as Array<{ name: string; state: string; publishedAt?: string; retiredAt?: string }>;
    const k1 = ring.find((k) => k.name === "k1");
    const k2 = ring.find((k) => k.name === "k2");
    const k2Before = ((before.ring ?? []) as typeof ring).find((k) => k.name === "k2");
    if (k1?.state !== "previous" || !k1.retiredAt) throw new Error(`the guard records k1 as ${JSON.stringify(k1)}`);
    if (k2?.state !== "current" || k2.publishedAt !== k2Before?.publishedAt)
      throw new Error(`the guard records k2 as ${JSON.stringify(k2)} (before: ${JSON.stringify(k2Before)})`);
    return `the guard remembers k1 previous (retired ${k1.retiredAt}) and k2 current, published since ${k2.publishedAt} as before the kill`;
  });
  await rec.attempt("fault:pulumi-killed-sessions-survive", async () => {
    const status = await user.userStatus(session.accessToken, current.anonKey);
    if (status !== 200) throw new Error(`GET /user with the token from before the promotion answered ${status}`);
    const answer = await stack.endpoint.request("POST", "/token?grant_type=refresh_token", {
      token: current.anonKey,
      apikey: current.anonKey,
      body: { refresh_token: session.refreshToken },
    });
    const kid = answer.status === 200 ? decodeProtectedHeader(String(answer.body.access_token)).kid : undefined;
    if (kid !== current.currentKid) throw new Error(`refresh answered ${answer.status}, kid ${kid}`);
    return `the token signed by k1 before the promotion still answers 200; its refresh token gave a token of k2 (${kid})`;
  });
}

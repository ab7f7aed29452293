/**
 * The component package's plugin: what Pulumi runs when another program adds this repository with `pulumi package
 * add` (`PulumiPlugin.yaml` names the Node runtime; the Node language host runs `package.json`'s `main`, which is
 * this file). It serves `SupabaseProvider` on the address the engine passes.
 *
 * Pulumi's plugin runner registers ts-node with type checking on (@pulumi/pulumi `cmd/run-plugin/run.ts`,
 * `typeCheck: true`), so every start of the plugin would type-check the whole component tree again: about half a
 * minute on 2 cores, and a `pulumi up` starts the plugin more than once. The repository's code is type-checked by
 * `npm run lint`, so this file turns that registration off and compiles the rest without a second check, with
 * ts-node's public API (`Service.enabled`, `register`). Nothing below may be imported before that: the provider is
 * required afterwards, and this file names none of its types (naming them would type-check it here after all).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Provider } from "@pulumi/pulumi/provider";
import { main } from "@pulumi/pulumi/provider";
import { register, REGISTER_INSTANCE } from "ts-node";

const ROOT = path.join(__dirname, "..", "..");

process[REGISTER_INSTANCE]?.enabled(false);
register({ transpileOnly: true, project: path.join(ROOT, "tsconfig.json") });

const { SupabaseProvider } = require("./provider") as { SupabaseProvider: new (version: string) => Provider };
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
void main(new SupabaseProvider(manifest.version), process.argv.slice(2));

/**
 * The component package's plugin: what Pulumi runs when another program adds this repository with `pulumi package
 * add` (`PulumiPlugin.yaml` names the Node runtime; the Node language host runs `package.json`'s `main`, which is
 * this file). It serves {@link SupabaseProvider} on the address the engine passes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "@pulumi/pulumi/provider";
import { SupabaseProvider } from "./provider";

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
  version: string;
};
void main(new SupabaseProvider(manifest.version), process.argv.slice(2));

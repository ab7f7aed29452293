/**
 * The house rules, checked on the repository itself: no import cycle anywhere (type-only imports count), the layers
 * of `components/` import only downwards, and no hand-written source file or function outgrows what a reader can
 * hold (400 lines a file, about 80 a function).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import madge from "madge";
import * as ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");

/** The repository's TypeScript sources, as git knows them. */
const sources = (): string[] =>
  execFileSync("git", ["ls-files", "*.ts"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((file) => file !== "" && fs.existsSync(path.join(ROOT, file)));

/** Hand-written source outside the tests (tests may hold long data tables). */
const handWritten = () => sources().filter((file) => !file.startsWith("test/") && !file.endsWith(".d.ts"));

/**
 * The floors of `components/`, lowest first: a module may import from its own floor and the ones below only.
 * `program.ts`, the component package (`package/`: the `Supabase` component and its plugin) and the package entry sit
 * on top.
 */
const FLOORS = [
  ["components/schema/"],
  ["components/keyring/", "components/outputs.ts"],
  ["components/services/"],
  ["components/config/"],
  ["components/targets/"],
  ["components/program.ts", "components/package/", "components/index.ts"],
];
const floorOf = (file: string) => FLOORS.findIndex((prefixes) => prefixes.some((p) => file.startsWith(p)));

describe("the import graph", () => {
  let graph: Record<string, string[]>;
  let cycles: string[][];
  beforeAll(async () => {
    const result = await madge(["components", "e2e", "scripts", "testkit", "policy", "test", "index.ts"], {
      baseDir: ROOT,
      fileExtensions: ["ts"],
      tsConfig: path.join(ROOT, "tsconfig.json"),
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    graph = result.obj();
    cycles = result.circular();
  }, 60_000);

  it("has no cycle", () => {
    expect(cycles).toEqual([]);
    expect(Object.keys(graph).length).toBeGreaterThan(100);
  });

  it("points only downwards in components/, and never from components/ to the tools or tests", () => {
    const wrong: string[] = [];
    for (const [file, imports] of Object.entries(graph)) {
      if (!file.startsWith("components/")) continue;
      for (const target of imports) {
        if (!target.startsWith("components/")) wrong.push(`${file} -> ${target}`);
        else if (floorOf(target) > floorOf(file)) wrong.push(`${file} (floor ${floorOf(file)}) -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("sizes", () => {
  it("no hand-written source file is over 400 lines", () => {
    const long = handWritten()
      .map((file) => [file, fs.readFileSync(path.join(ROOT, file), "utf8").split("\n").length - 1] as const)
      .filter(([, lines]) => lines > 400);
    expect(long).toEqual([]);
  });

  it("no function is over 80 lines", () => {
    const long: string[] = [];
    for (const file of handWritten()) {
      const source = ts.createSourceFile(
        file,
        fs.readFileSync(path.join(ROOT, file), "utf8"),
        ts.ScriptTarget.Latest,
        true,
      );
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
          const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
          const end = source.getLineAndCharacterOfPosition(node.end).line;
          if (end - start + 1 > 80) long.push(`${file}:${start + 1} (${end - start + 1} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });
});

/**
 * A real Lua interpreter (LuaJIT, as in Kong, or Lua 5.1) that evaluates kong.yml's request-transformer
 * templates and post-function code the way Kong 3.9 does, so tests check what a request looks like when it
 * reaches a service.
 *
 * What is emulated, from Kong 3.9.1 and Penlight 1.14 (Kong's pinned version):
 * - request-transformer splits each entry at the first colon run (`^([^:]+):*(.-)$`); an empty value is not
 *   rendered. `$(expr)` is located by balanced parentheses and renders as `tostring((expr) or '')`.
 * - The template environment in the default `untrusted_lua = sandbox` mode: lazily `headers`,
 *   `query_params`, `uri_captures`, `shared`, plus `type` and a refusing `require`; every other global is nil.
 * - `headers` is nginx's table: lower-cased names, lookups normalised (lower case, `_` → `-`), repeated
 *   headers as arrays. Query arguments repeat as arrays; a bare `?name` is `true`.
 * - Header `remove` drops headers first, then `replace` applies only to present headers, then `add` only to
 *   absent ones (case-insensitively); query strings likewise. Templates see the request as it arrived.
 * - Stricter than Kong: an unbalanced `$(` (which Penlight would send as literal text) is an error.
 * - post-function `access` code runs with `kong.request.get_header` and `kong.service.request.clear_header`.
 * Only what the project's kong.yml uses is emulated; anything else fails loudly.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { RequestTransformerConfig } from "../../components/services/kong/format";

/** Interpreters with Lua 5.1 semantics (`setfenv`, `loadstring`), as Kong's LuaJIT has. */
const CANDIDATES = ["luajit", "lua5.1"];

/**
 * Finds a Lua 5.1-compatible interpreter on `PATH`.
 * @throws with install instructions when there is none: tests must fail, not skip (CI installs luajit).
 */
export function findLuaInterpreter(path: string = process.env.PATH ?? ""): string {
  for (const name of CANDIDATES) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  throw new Error(
    `no Lua interpreter found (looked for ${CANDIDATES.join(", ")} on PATH): the kong.yml tests evaluate its Lua ` +
      "templates for real. Install one: apt-get update && apt-get install -y luajit",
  );
}

/** A request as the client sent it. Header names in any case; arrays mean a repeated header or argument. */
export interface LuaRequest {
  headers?: Record<string, string | string[]>;
  query?: Record<string, string | string[] | true>;
}

/** The outcome of rendering one template. */
export type RenderResult = { ok: true; value: string } | { ok: false; error: string };

/** Encodes any JS string as a Lua literal, every byte escaped: independent of the code under test. */
function lit(text: string): string {
  return `"${[...Buffer.from(text, "utf8")].map((b) => `\\${b}`).join("")}"`;
}

function headersTable(headers: Record<string, string | string[]> = {}): string {
  const pairs = Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => `{${lit(name)}, ${lit(v)}}`),
  );
  return `{${pairs.join(", ")}}`;
}

function queryTable(query: Record<string, string | string[] | true> = {}): string {
  const entries = Object.entries(query).map(([name, value]) => {
    const v = value === true ? "true" : Array.isArray(value) ? `{${value.map(lit).join(", ")}}` : lit(value);
    return `[${lit(name)}] = ${v}`;
  });
  return `{${entries.join(", ")}}`;
}

const PRELUDE = String.raw`
local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local function emit(ok, text) io.write(ok and 'OK ' or 'ERR ', hex(text), '\n') end

local function nginx_headers(pairs_list)
  local t = {}
  for _, pair in ipairs(pairs_list) do
    local name, value = pair[1]:lower(), pair[2]
    local old = rawget(t, name)
    if old == nil then t[name] = value
    elseif type(old) == 'table' then table.insert(old, value)
    else t[name] = { old, value } end
  end
  return setmetatable(t, { __index = function(self, key)
    if type(key) ~= 'string' then return nil end
    local normalised = key:lower():gsub('_', '-')
    if normalised == key then return nil end
    return rawget(self, normalised)
  end })
end

local function sandbox_env(headers, query)
  local loaders = {
    headers = function() return headers end,
    query_params = function() return query end,
    uri_captures = function() return {} end,
    shared = function() return {} end,
  }
  local env = { type = type, require = function(m) error("require '" .. tostring(m) .. "' not allowed within sandbox") end }
  return setmetatable(env, {
    __index = function(self, key)
      local loader = loaders[key]
      if not loader then return nil end
      local value = loader()
      rawset(self, key, value)
      return value
    end,
    __newindex = function() error('This environment is read-only.') end,
  })
end

local function compile(template)
  local parts, pos = {}, 1
  for start, expr, stop in template:gmatch('()%$(%b())()') do
    parts[#parts + 1] = string.format('%q', template:sub(pos, start - 1))
    parts[#parts + 1] = '__tostring(' .. expr .. " or '')"
    pos = stop
  end
  parts[#parts + 1] = string.format('%q', template:sub(pos))
  -- Stricter than Penlight, which would send an unbalanced '$(' as literal text.
  for i = 1, #parts, 2 do
    if parts[i]:find('$(', 1, true) then return nil, "unbalanced '$(' in template" end
  end
  return loadstring('return ' .. table.concat(parts, ' .. '), '=template')
end

local function render(template, env)
  local fn, err = compile(template)
  if not fn then return false, 'compile error: ' .. err end
  setfenv(fn, setmetatable({ __tostring = tostring }, { __index = env }))
  local ok, result = pcall(fn)
  if not ok then return false, 'runtime error: ' .. tostring(result) end
  return true, result
end
`;

function runLua(script: string): RenderResult[] {
  const interpreter = findLuaInterpreter();
  const run = spawnSync(interpreter, ["-"], { input: PRELUDE + script, encoding: "utf8", timeout: 10_000 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`${interpreter} failed (${run.status}): ${run.stderr}`);
  return run.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [tag, data = ""] = line.split(" ");
      const text = Buffer.from(data, "hex").toString("utf8");
      return tag === "OK" ? { ok: true as const, value: text } : { ok: false as const, error: text };
    });
}

/** Renders request-transformer template values (the part after `name:`) against one request. */
export function renderTemplates(templates: string[], request: LuaRequest = {}): RenderResult[] {
  const script = [
    `local env = sandbox_env(nginx_headers(${headersTable(request.headers)}), ${queryTable(request.query)})`,
    ...templates.map((t) => `emit(render(${lit(t)}, env))`),
  ].join("\n");
  return runLua(script);
}

/** Splits a request-transformer entry as Kong does (`^([^:]+):*(.-)$`). */
export function splitEntry(entry: string): { name: string; value: string } {
  const match = /^([^:]+):*([\s\S]*)$/.exec(entry);
  if (!match) throw new Error(`not a request-transformer entry: ${entry}`);
  return { name: match[1], value: match[2] };
}

/** The request as it leaves the gateway: header names lower-cased. */
export interface ForwardedRequest {
  headers: Record<string, string | string[]>;
  query: Record<string, string | string[] | true>;
}

function lowerHeaders(headers: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    const old = out[key];
    out[key] =
      old === undefined ? value : [...(Array.isArray(old) ? old : [old]), ...(Array.isArray(value) ? value : [value])];
  }
  return out;
}

/**
 * Applies a request-transformer config (remove, replace, then add; headers, then query string) to a request.
 * @throws when a template fails to compile or run: Kong would refuse the config or answer 500.
 */
export function applyRequestTransformer(config: RequestTransformerConfig, request: LuaRequest): ForwardedRequest {
  const steps = [
    ...(config.replace?.headers ?? []).map((e) => ({ kind: "replace-header", ...splitEntry(e) })),
    ...(config.add?.headers ?? []).map((e) => ({ kind: "add-header", ...splitEntry(e) })),
    ...(config.replace?.querystring ?? []).map((e) => ({ kind: "replace-query", ...splitEntry(e) })),
    ...(config.add?.querystring ?? []).map((e) => ({ kind: "add-query", ...splitEntry(e) })),
  ];
  const rendered = renderTemplates(
    steps.map((s) => s.value),
    request,
  );
  const headers = lowerHeaders(request.headers);
  for (const name of config.remove?.headers ?? []) delete headers[name.toLowerCase()];
  const query = { ...(request.query ?? {}) };
  steps.forEach((step, i) => {
    const result = rendered[i];
    if (!result.ok) throw new Error(`template for ${step.kind} ${step.name} failed: ${result.error}`);
    const name = step.kind.endsWith("header") ? step.name.toLowerCase() : step.name;
    const target: Record<string, unknown> = step.kind.endsWith("header") ? headers : query;
    const present = target[name] !== undefined;
    if (step.kind.startsWith("replace") ? present : !present && name !== "host") target[name] = result.value;
  });
  return { headers, query };
}

/**
 * Runs post-function `access` code against an outgoing request, with the two PDK calls our code uses.
 * @throws when the code does not compile or fails.
 */
export function runAccessCode(code: string, request: ForwardedRequest): ForwardedRequest {
  const script = String.raw`
local headers = nginx_headers(${headersTable(request.headers)})
local cleared = {}
local kong = {
  request = { get_header = function(name)
    local v = headers[name]
    if type(v) == 'table' then return v[1] end
    return v
  end },
  service = { request = { clear_header = function(name) cleared[#cleared + 1] = name:lower() end } },
}
local env = setmetatable({ kong = kong }, { __index = { type = type, string = string, tostring = tostring, pairs = pairs, ipairs = ipairs } })
local fn, err = loadstring(${lit(code)}, '=post-function')
if not fn then emit(false, 'compile error: ' .. err) return end
setfenv(fn, env)
local ok, result = pcall(fn)
if ok and type(result) == 'function' then setfenv(result, env) ok, result = pcall(result) end
if not ok then emit(false, 'runtime error: ' .. tostring(result)) return end
for _, name in ipairs(cleared) do emit(true, name) end
`;
  const results = runLua(script);
  const failure = results.find((r) => !r.ok);
  if (failure && !failure.ok) throw new Error(`post-function failed: ${failure.error}`);
  const headers = { ...request.headers };
  for (const r of results) if (r.ok) delete headers[r.value];
  return { headers, query: request.query };
}

// A live `parley demo` server for the tests: a fresh database in a temporary directory, port 0,
// the operator key set; its URL and the demo people's tokens read from what it prints.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ADMIN = "sdk-test-admin-key-of-at-least-32-bytes";

export function parleyBin() {
  if (process.env.PARLEY_BIN) return process.env.PARLEY_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? resolve(import.meta.dirname, "../../../target");
  return join(target, "debug", "parley");
}

export async function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), "parley-sdk-"));
  const child = spawn(
    parleyBin(),
    ["demo", "--listen", "127.0.0.1:0", "--database", `sqlite://${join(dir, "demo.db")}`],
    { env: { ...process.env, PARLEY_ADMIN_KEY: ADMIN, PARLEY_LOG: "warn" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  const ready = await new Promise((ok, fail) => {
    child.on("exit", (code) => fail(new Error(`parley demo exited (${code}): ${out}`)));
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("Try: curl")) ok(out);
    });
  });
  const url = /Parley demo at (http:\/\/\S+)/.exec(ready)[1];
  const tokens = {};
  for (const m of ready.matchAll(/^\s+.+?\s+(\w+)\s+(pt_[0-9a-f]+)$/gm)) tokens[m[1]] = m[2];
  return {
    url,
    tokens,
    async admin(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: await res.json() };
    },
    stop() {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The SDK against a live `parley demo` server: send, receive live, a blocked message's error
// with its findings, reconnect with the cursor (no event lost, none twice), the token
// refresher; the generated types match the server's document; the core's size.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import WebSocket from "ws";
import { ParleyClient, ParleyError, ParleySocket } from "../dist/index.js";
import { loadDocument, schemaSource, SCHEMA_PATH } from "../scripts/generate.mjs";
import { startDemo } from "./server.mjs";

let server;
before(async () => {
  server = await startDemo();
});
after(() => server?.stop());

async function conversation(members) {
  const r = await server.admin("POST", "/v1/conversations", { members, subject: "sdk test" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

/** Resolves with the first `n` events the socket hands over (of `type`). */
function collect(sock, type, n) {
  const got = [];
  return new Promise((ok) => {
    const off = sock.on(type, (e) => {
      got.push(e);
      if (got.length === n) {
        off();
        ok(got);
      }
    });
  });
}

test("the generated types match the server's OpenAPI document", async () => {
  const fresh = await schemaSource(await loadDocument(server.url));
  const committed = await readFile(SCHEMA_PATH, "utf8");
  assert.ok(
    fresh === committed,
    "src/schema.ts is out of date: run `npm run generate -- URL` against a server of this commit",
  );
});

test("the core client is at most 15 KB gzipped", async () => {
  let bytes = 0;
  for (const f of ["index.js", "client.js", "socket.js", "schema.js"]) {
    bytes += (await readFile(new URL(`../dist/${f}`, import.meta.url))).length;
  }
  const all = Buffer.concat(
    await Promise.all(["index.js", "client.js", "socket.js", "schema.js"].map((f) =>
      readFile(new URL(`../dist/${f}`, import.meta.url)))),
  );
  const gz = gzipSync(all, { level: 9 }).length;
  console.log(`core: ${bytes} bytes, ${gz} bytes gzipped`);
  assert.ok(gz <= 15 * 1024, `${gz} bytes gzipped`);
});

test("send, receive live, a blocked message's findings, reconnect with the cursor", async () => {
  const conv = await conversation(["avery", "diego"]);
  const avery = new ParleyClient({ baseUrl: server.url, token: server.tokens.avery });
  const diego = new ParleyClient({ baseUrl: server.url, token: server.tokens.diego });
  const me = await diego.me();
  assert.equal(me.id, "diego");

  // Diego listens from his current cursor.
  const { events } = await diego.events(0);
  const start = events.length ? events[events.length - 1].seq : 0;
  const sock = new ParleySocket({ baseUrl: server.url, token: server.tokens.diego, cursor: start, WebSocket });
  const opened = new Promise((ok) => sock.onState((s) => s.state === "open" && ok()));
  await sock.connect();
  await opened;

  const live = collect(sock, "message.created", 1);
  const sent = await avery.send(conv, "Hello Diego, shall we start on Monday?");
  assert.equal(sent.message.body, "Hello Diego, shall we start on Monday?");
  const [first] = await live;
  assert.equal(first.message.id, sent.message.id);
  assert.equal(first.conversation_id, conv);

  // Same client_id: the same message.
  const again = await avery.send(conv, "Retry me", "retry-1");
  const again2 = await avery.send(conv, "Retry me", "retry-1");
  assert.equal(again.message.id, again2.message.id);

  // Blocked: a typed error with the findings.
  await assert.rejects(avery.send(conv, "My number is +1 415 555 0134, text me"), (e) => {
    assert.ok(e instanceof ParleyError);
    assert.equal(e.status, 422);
    assert.equal(e.code, "policy_violation");
    assert.ok(Array.isArray(e.details.findings) && e.details.findings.length > 0, JSON.stringify(e.details));
    return true;
  });

  // The connection drops; two messages are sent meanwhile; the socket reconnects from its
  // cursor and hands each over once, in order.
  const seen = [];
  sock.on("message.created", (e) => seen.push(e.message.id));
  const retryMessage = seen.length;
  const reopened = new Promise((ok) => {
    let closed = false;
    sock.onState((s) => {
      if (s.state === "closed") closed = true;
      else if (closed) ok();
    });
  });
  const missed = collect(sock, "message.created", 2);
  sock["ws"].terminate();
  const m1 = await avery.send(conv, "While you were away (1)");
  const m2 = await avery.send(conv, "While you were away (2)");
  await reopened;
  const got = await missed;
  assert.deepEqual(got.map((e) => e.message.id), [m1.message.id, m2.message.id]);
  assert.deepEqual(seen.slice(retryMessage), [m1.message.id, m2.message.id]);
  sock.close();
});

test("the token refresher is asked again when a token is refused", async () => {
  const asked = [];
  const client = new ParleyClient({
    baseUrl: server.url,
    token: (refresh) => {
      asked.push(refresh);
      return refresh ? server.tokens.mei : "pt_expired";
    },
  });
  const me = await client.me();
  assert.equal(me.id, "mei");
  assert.deepEqual(asked, [false, true]);
  const bad = new ParleyClient({ baseUrl: server.url, token: "pt_nope" });
  await assert.rejects(bad.me(), (e) => e instanceof ParleyError && e.status === 401);
});

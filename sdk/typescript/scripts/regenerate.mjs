// Regenerates src/schema.ts from a fresh `parley demo` (the debug build in CARGO_TARGET_DIR or
// ../../target, or PARLEY_BIN): run `npm run regenerate` after changing the API.
import { writeFile } from "node:fs/promises";
import { startDemo } from "../test/server.mjs";
import { loadDocument, schemaSource, SCHEMA_PATH } from "./generate.mjs";

const demo = await startDemo();
try {
  await writeFile(SCHEMA_PATH, await schemaSource(await loadDocument(demo.url)));
  console.log(`wrote ${SCHEMA_PATH}`);
} finally {
  demo.stop();
}

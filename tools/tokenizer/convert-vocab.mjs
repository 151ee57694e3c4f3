// Converts the tiktoken npm package's encoders/<name>.json into the embedded vocabulary form:
// gzip( "TKV1" | u32 count | per rank: varint length, bytes ), ranks dense from 0.
// Why: the JSON is ~2-3 MB of base64 text; a length-prefixed binary in rank order is smaller
// and loads with no parsing beyond a linear scan.
// Usage: cd tools/tokenizer && npm install && node convert-vocab.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync, constants } from "node:zlib";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, "../../src/AiGateway.Tokenizers/Vocabularies");

function parseRanks(bpeRanks) {
  // Compact form: whitespace separated; "!" <offset> starts a run of consecutive ranks.
  const parts = bpeRanks.split(/\s+/).filter((p) => p.length > 0);
  const tokens = [];
  let rank = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === "!") {
      rank = Number.parseInt(parts[++i], 10);
      continue;
    }
    if (rank !== tokens.length) throw new Error(`rank gap at ${rank} (have ${tokens.length})`);
    tokens.push(Buffer.from(parts[i], "base64"));
    rank++;
  }
  return tokens;
}

function varint(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

for (const name of ["o200k_base", "cl100k_base"]) {
  const json = JSON.parse(readFileSync(require.resolve(`tiktoken/encoders/${name}.json`), "utf8"));
  const tokens = parseRanks(json.bpe_ranks);
  const seen = new Set();
  for (const t of tokens) {
    const key = t.toString("hex");
    if (seen.has(key)) throw new Error(`duplicate token ${key} in ${name}`);
    seen.add(key);
  }
  const chunks = [Buffer.from("TKV1", "ascii")];
  const count = Buffer.alloc(4);
  count.writeUInt32LE(tokens.length);
  chunks.push(count);
  for (const t of tokens) {
    chunks.push(Buffer.from(varint(t.length)), t);
  }
  const raw = Buffer.concat(chunks);
  const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(path.join(outDir, `${name}.bin.gz`), gz);
  const maxLen = tokens.reduce((m, t) => Math.max(m, t.length), 0);
  console.log(`${name}: ${tokens.length} tokens, max length ${maxLen}, raw ${raw.length} B, gzip ${gz.length} B`);
  console.log(`  pat_str: ${json.pat_str}`);
}

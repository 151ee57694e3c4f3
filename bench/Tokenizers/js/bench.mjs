// Measures token counting throughput of the JS references on the shared corpus (JSON array of ~2 KB prompts):
// tiktoken (WASM build of OpenAI's Rust core) and gpt-tokenizer (pure JS). Single-threaded, like the .NET run.
// Usage: node bench.mjs <corpus.json>   → prints "RESULT <name>_mbps <value>" lines.
import { readFileSync } from "node:fs";
import { get_encoding } from "tiktoken";
import * as gptO200k from "gpt-tokenizer/encoding/o200k_base";
import * as gptCl100k from "gpt-tokenizer/encoding/cl100k_base";

const prompts = JSON.parse(readFileSync(process.argv[2], "utf8"));
const bytes = prompts.reduce((s, p) => s + Buffer.byteLength(p, "utf8"), 0);
const minSeconds = Number(process.env.BENCH_SECONDS ?? 3);

function measure(name, countFn) {
  let expected = 0;
  for (const p of prompts) expected += countFn(p); // warm-up pass (JIT, lazy tables)
  let passes = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    let total = 0;
    for (const p of prompts) total += countFn(p);
    if (total !== expected) throw new Error(`${name}: nondeterministic count`);
    passes++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < minSeconds);
  const mbps = (bytes * passes) / elapsed / 1e6;
  console.log(`RESULT ${name}_mbps ${mbps.toFixed(2)} (tokens ${expected}, passes ${passes})`);
}

const tkO200k = get_encoding("o200k_base");
const tkCl100k = get_encoding("cl100k_base");
measure("tiktoken_o200k", (p) => tkO200k.encode_ordinary(p).length);
measure("tiktoken_cl100k", (p) => tkCl100k.encode_ordinary(p).length);
measure("gpt_tokenizer_o200k", (p) => gptO200k.countTokens(p));
measure("gpt_tokenizer_cl100k", (p) => gptCl100k.countTokens(p));
tkO200k.free();
tkCl100k.free();

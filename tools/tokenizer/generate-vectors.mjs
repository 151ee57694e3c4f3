// Generates conformance vectors with the tiktoken npm package (WASM build of OpenAI's Rust core)
// as the oracle. Output: tests/AiGateway.Tokenizers.Tests/Fixtures/conformance.json.gz — an array of
// { name, text, o200k_base: [...ids], cl100k_base: [...ids] } read by the xunit tests (no node needed there).
// Usage: cd tools/tokenizer && npm install && node generate-vectors.mjs
// Lone surrogates are not generated here: System.Text.Json rejects them in strings, so a C# test
// covers them by comparing with U+FFFD (which is what the JS binding feeds the Rust core).
import { writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { get_encoding } from "tiktoken";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, "../../tests/AiGateway.Tokenizers.Tests/Fixtures");

// Deterministic PRNG (mulberry32) so the fixture is reproducible.
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cases = [];
const add = (name, text) => cases.push({ name, text });

// Hand-picked cases.
const fixed = {
  "english": "The quick brown fox jumps over the lazy dog. It's 3:45pm and we're LATE!",
  "english-paragraph": "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading, but it had no pictures or conversations in it, \"and what is the use of a book,\" thought Alice \"without pictures or conversations?\"",
  "code-csharp": "public static int Add(int a, int b)\n{\n    return a + b; // sum\n}\n",
  "code-python": "def f(x):\n\tif x > 10:\n\t\treturn x ** 2\n\treturn [i for i in range(x)]\n\n\nprint(f(12))",
  "code-js": "const x = await fetch(`/api/v1/items?id=${id}`);\nif (!x.ok) throw new Error(\"bad\");\n// TODO: retry\n",
  "json": "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7}",
  "url-path": "https://example.com/a/b/c?x=1&y=2#frag ./src//lib/// ../../etc/passwd",
  "cjk-chinese": "我们今天去公园散步，天气非常好。人工智能正在改变世界。",
  "cjk-japanese": "お誕生日おめでとう！東京タワーに行きましょう。カタカナとひらがな。",
  "cjk-korean": "안녕하세요, 만나서 반갑습니다. 한국어 텍스트입니다.",
  "arabic": "مرحبا بالعالم! هذه جملة باللغة العربية مع أرقام ١٢٣٤٥ و 12345.",
  "devanagari": "नमस्ते दुनिया। यह हिन्दी में एक वाक्य है। क्षत्रिय ज्ञान",
  "thai": "สวัสดีครับ ภาษาไทยไม่มีช่องว่างระหว่างคำ",
  "hebrew-niqqud": "בְּרֵאשִׁית בָּרָא אֱלֹהִים",
  "greek-cyrillic": "Καλημέρα κόσμε — Привет, мир! ΑΒΓΔ АБВГД",
  "emoji-zwj": "👨‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag, ❤️‍🔥 heart on fire",
  "emoji-skin": "👍🏻👍🏼👍🏽👍🏾👍🏿 🤝🏿 ✋🏽",
  "emoji-flags": "🇺🇸🇩🇪🇯🇵 🇬🇧!",
  "combining": "e\u0301 a\u0300\u0323 Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o \u0301\u0302start",
  "combining-only": "\u0300\u0301\u0302\u0303 \u0304",
  "crlf-mix": "line1\r\nline2\n\rline3\r\r\n\n  \r\n\t\nend\r",
  "spaces-run": "a" + " ".repeat(37) + "b" + " ".repeat(2) + "c   \n   d    ",
  "tabs-run": "\t\t\tx\t \t y\t\t\t\t",
  "newlines-run": "\n\n\n\nx\n\n \n\n\n",
  "trailing-spaces": "end with spaces    ",
  "digits": "0 1 12 123 1234 12345 123456789012345 3.14159 1,000,000 ٣٤٥ ⅠⅡⅢ ½",
  "single-letters": "a b c d e f g h i j k l m n o p q r s t u v w x y z A B C X Y Z",
  "contractions-lower": "it's don't we're they've I'm we'll he'd",
  "contractions-upper": "IT'S DON'T WE'RE THEY'VE I'M WE'LL HE'D 'S 'LL 'VE 'RE 'T 'M 'D",
  "contractions-mixed": "It'S dOn'T We'Re 'sup 'Ll 'lL 'x 'r 'l 'v",
  "contractions-bare": "'s",
  "long-s": "it'\u017F it'\u017Fx '\u017F \u017F'\u017F'S",
  "quotes": "\"hello\" 'world' ‘smart’ “quotes” «guillemets»",
  "control-chars": "a\u0000b\u0001c\u0007d\u001Be\u001Cf\u001Fg\u007Fh\u0085i\u000Bj\u000Ck",
  "unicode-spaces": "a\u00A0b\u2003c\u3000d\u2028e\u2029f\u202Fg\u205Fh\u1680i\u200Bj",
  "special-token-text": "<|endoftext|> hello <|endofprompt|><|fim_prefix|>",
  "special-token-only": "<|endoftext|>",
  "punct-slash": "!!!/// ???\n\n//// ...\r\n/ a/b ;/\n",
  "camel-case": "XMLHttpRequest getElementById HTMLParser iPhone McDonald ABCdef aBC",
  "titlecase": "ǅemal ǈubljana ǋovak Ǆ",
  "modifier-letters": "ʰʲʷ ˈstress ʻokina ーカー",
  "mixed-script": "hello世界مرحبا123abc🙂def",
  "empty-ish": " ",
  "single-newline": "\n",
  "math": "∑_{i=1}^{n} x_i² ≤ √(a²+b²) → ∞ ≠ ∅ ∀x∈ℝ",
  "astral-letters": "𝐀𝐁𝐂 𝒜𝒷𝒸 𝔸𝕓 𐐀𐐨 𠀀𠀁 𓀀",
  "html": "<div class=\"x\">Hello&nbsp;<b>world</b></div>\n<!-- c -->",
  "markdown": "# Title\n\n- item *one*\n- item **two**\n\n```bash\nls -la\n```\n",
};
for (const [k, v] of Object.entries(fixed)) add(k, v);

// Long runs (oracle-safe sizes; the 1 MB adversarial cases live in the benchmark).
add("long-letter-run", "a".repeat(3000));
add("long-upper-run", "Q".repeat(1500) + "q".repeat(1500));
add("long-digit-run", "7".repeat(2001));
add("long-space-run", " ".repeat(4000) + "x");
add("long-newline-run", "\n".repeat(2500));
add("long-punct-run", "-".repeat(1000) + "=".repeat(1000));
add("long-emoji-run", "😀".repeat(500));
add("long-cjk-run", "的".repeat(1200));

// Seeded random text from mixed character pools.
const pools = [
  [0x20, 0x7e, 8], [0x09, 0x0d, 1], [0xa0, 0xff, 1], [0x100, 0x24f, 1], [0x300, 0x36f, 1],
  [0x370, 0x3ff, 1], [0x400, 0x4ff, 1], [0x590, 0x5ff, 1], [0x600, 0x6ff, 1], [0x900, 0x97f, 1],
  [0xe00, 0xe7f, 1], [0x1100, 0x11ff, 1], [0x2000, 0x206f, 1], [0x3040, 0x30ff, 1], [0x4e00, 0x9fff, 2],
  [0xac00, 0xd7a3, 1], [0xff00, 0xffef, 1], [0x1f300, 0x1faff, 2], [0x1d400, 0x1d7ff, 1], [0x20000, 0x2a6df, 1],
  [0x10000, 0x1ffff, 1], [0xe0000, 0xe007f, 1],
];
const totalWeight = pools.reduce((s, p) => s + p[2], 0);
function randomChar(r) {
  let x = r() * totalWeight;
  for (const [lo, hi, w] of pools) {
    if ((x -= w) < 0) return String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
  }
  return "x";
}
const words = ["the", "The", "THE", "don't", "I'LL", "we've", " ", "  ", "\n", "\r\n", "\t", "123", "4567", "!", "?!", "//", "'s", "'S", "(", ")", "{", "}", "é", "ñ", "ß", "😀", "👍🏽", "‍", "中文", "العربية", "हिन्दी"];
for (let seed = 1; seed <= 300; seed++) {
  const r = rng(seed);
  const len = 1 + Math.floor(r() * 120);
  let s = "";
  for (let i = 0; i < len; i++) {
    s += r() < 0.35 ? words[Math.floor(r() * words.length)] : randomChar(r);
  }
  add(`random-${seed}`, s);
}
// Uniform over all non-surrogate code points: stresses category tables.
for (let seed = 1001; seed <= 1100; seed++) {
  const r = rng(seed);
  let s = "";
  for (let i = 0; i < 40; i++) {
    let cp;
    do cp = Math.floor(r() * 0x110000); while (cp >= 0xd800 && cp <= 0xdfff);
    s += String.fromCodePoint(cp);
    if (r() < 0.3) s += " ";
  }
  add(`uniform-${seed}`, s);
}

const encodings = ["o200k_base", "cl100k_base"].map((n) => [n, get_encoding(n)]);
const out = cases.map(({ name, text }) => {
  const entry = { name, text };
  for (const [n, enc] of encodings) entry[n] = Array.from(enc.encode_ordinary(text));
  return entry;
});
for (const [, enc] of encodings) enc.free();

mkdirSync(outDir, { recursive: true });
const json = JSON.stringify(out);
writeFileSync(path.join(outDir, "conformance.json.gz"), gzipSync(json, { level: 9 }));
console.log(`${out.length} cases, ${json.length} bytes JSON`);

// Sequential metered calls on one keep-alive connection (one call at a time, the next sent when the last answered):
// the latency of a single call with nothing queued in front of it. WARM calls first (not measured), then COUNT calls.
// Prints one JSON line: p50/p90/p99/mean/max in ms, non-200 answers and errors.
// Usage: node sequential.mjs URL COUNT WARM   env BENCH_KEY = bearer key
import http from 'node:http';

const [url, countArg, warmArg] = process.argv.slice(2);
const count = Number(countArg), warm = Number(warmArg);
const target = new URL(url);
const body = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}');
const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length };
if (process.env.BENCH_KEY) headers.Authorization = `Bearer ${process.env.BENCH_KEY}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let non200 = 0, errors = 0;
const call = () => new Promise(resolve => {
  const start = process.hrtime.bigint();
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent }, res => {
    if (res.statusCode !== 200) non200++;
    res.on('data', () => {});
    res.on('end', () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
  });
  req.on('error', () => { errors++; resolve(NaN); });
  req.end(body);
});

for (let i = 0; i < warm; i++) await call();
const lat = [];
for (let i = 0; i < count; i++) lat.push(await call());
agent.destroy();
const ok = lat.filter(x => !Number.isNaN(x)).sort((a, b) => a - b);
const pct = p => ok.length ? ok[Math.min(ok.length - 1, Math.floor(p / 100 * ok.length))] : NaN;
const r3 = x => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({
  url, requests: ok.length, non200, errors, p50: r3(pct(50)), p90: r3(pct(90)), p99: r3(pct(99)),
  mean: r3(ok.reduce((a, b) => a + b, 0) / Math.max(1, ok.length)), max: r3(ok.at(-1) ?? NaN),
}));

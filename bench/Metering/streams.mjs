// Opens COUNT concurrent metered streams through the gateway, ramped over RAMP seconds, and reads them to the end.
// Prints one JSON line: how many completed with [DONE], how many failed, how long the last took.
// Usage: node streams.mjs URL COUNT RAMP   env BENCH_KEY = bearer key, BENCH_STREAM_SECONDS = ask the slow upstream for shorter streams
import http from 'node:http';
const [url, countArg, rampArg] = process.argv.slice(2);
const count = Number(countArg), ramp = Number(rampArg);
const target = new URL(url);
const body = Buffer.from('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Count slowly."}]}');
const agent = new http.Agent({ keepAlive: false, maxSockets: count + 10 });
let ok = 0, failed = 0, open = 0, maxOpen = 0;
const statuses = {};
const t0 = Date.now();
const one = () => new Promise(resolve => {
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
    headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, Authorization: `Bearer ${process.env.BENCH_KEY}`,
      ...(process.env.BENCH_STREAM_SECONDS ? { 'X-Bench-Seconds': process.env.BENCH_STREAM_SECONDS } : {}) } }, res => {
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    open++; if (open > maxOpen) maxOpen = open;
    let tail = '';
    res.setEncoding('utf8');
    res.on('data', d => { tail = (tail + d).slice(-64); });
    res.on('end', () => { open--; if (res.statusCode === 200 && tail.includes('[DONE]')) ok++; else failed++; resolve(); });
    res.on('error', () => { open--; failed++; resolve(); });
  });
  req.setTimeout(120000, () => req.destroy(new Error('timeout')));
  req.on('error', () => { failed++; resolve(); });
  req.end(body);
});
const all = [];
for (let i = 0; i < count; i++) {
  all.push(one());
  if (ramp > 0 && i % 50 === 49) await new Promise(r => setTimeout(r, ramp * 1000 / (count / 50)));
}
await Promise.all(all);
console.log(JSON.stringify({ count, ok, failed, maxOpen, statuses, seconds: (Date.now() - t0) / 1000 }));

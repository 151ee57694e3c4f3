// Open-loop fixed-rate load generator (wrk has no fixed-rate mode): sends RATE requests per second over a pool of
// keep-alive connections for DURATION seconds after WARMUP seconds, and prints latency percentiles as one JSON line.
// Latency = from the request being handed to the socket pool until the whole response was read. Requests are sent on
// schedule whether or not earlier ones answered (no coordinated omission below saturation); "lagMs" reports how late
// the generator itself was against the schedule, so a late generator is visible rather than hidden.
// Usage: node fixedrate.mjs URL RATE DURATION WARMUP [stream]   env BENCH_KEY = bearer key (optional)
import http from 'node:http';

const [url, rateArg, durArg, warmArg, mode] = process.argv.slice(2);
const rate = Number(rateArg), duration = Number(durArg), warmup = Number(warmArg);
const stream = mode === 'stream';
const target = new URL(url);
const body = Buffer.from(stream
  ? '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}'
  : '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}');
const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length };
if (process.env.BENCH_KEY) headers.Authorization = `Bearer ${process.env.BENCH_KEY}`;
if (stream) headers['X-Bench-Stream'] = '1';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const total = Math.round(rate * (warmup + duration));
const warmCount = Math.round(rate * warmup);
const lat = new Float64Array(total).fill(NaN);
let sent = 0, done = 0, errors = 0, non200 = 0, maxLag = 0, inflight = 0, maxInflight = 0;
const lags = [];
const t0 = process.hrtime.bigint();
const nowMs = () => Number(process.hrtime.bigint() - t0) / 1e6;

function send(i) {
  const start = process.hrtime.bigint();
  inflight++; if (inflight > maxInflight) maxInflight = inflight;
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', headers, agent }, res => {
    if (res.statusCode !== 200) non200++;
    res.on('data', () => {});
    res.on('end', () => { lat[i] = Number(process.hrtime.bigint() - start) / 1e6; inflight--; done++; });
  });
  req.on('error', () => { errors++; inflight--; done++; });
  req.end(body);
}

await new Promise(resolve => {
  const tick = () => {
    const now = nowMs();
    const due = Math.min(total, Math.floor(now * rate / 1000) + 1);
    while (sent < due) {
      const lag = now - sent * 1000 / rate;
      if (sent >= warmCount) { lags.push(lag); if (lag > maxLag) maxLag = lag; }
      send(sent++);
    }
    if (sent < total) setTimeout(tick, Math.max(0, (sent * 1000 / rate) - nowMs()));
    else resolve();
  };
  tick();
});
const deadline = Date.now() + 10000;
while (done < total && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
agent.destroy();

const measured = Array.from(lat.subarray(warmCount)).filter(x => !Number.isNaN(x)).sort((a, b) => a - b);
const pct = p => measured.length ? measured[Math.min(measured.length - 1, Math.floor(p / 100 * measured.length))] : NaN;
lags.sort((a, b) => a - b);
const r3 = x => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({
  url, rate, duration, requests: measured.length, lost: total - warmCount - measured.length, non200, errors,
  p50: r3(pct(50)), p90: r3(pct(90)), p99: r3(pct(99)), p999: r3(pct(99.9)), max: r3(measured.at(-1) ?? NaN),
  mean: r3(measured.reduce((a, b) => a + b, 0) / Math.max(1, measured.length)),
  lagP99Ms: r3(lags[Math.floor(0.99 * lags.length)] ?? 0), maxInflight,
}));

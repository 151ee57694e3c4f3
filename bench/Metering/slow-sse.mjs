// Slow OpenAI-style SSE upstream for the memory test: every POST gets one chunk per second for SECONDS seconds,
// then a usage chunk and [DONE]. Usage: node slow-sse.mjs PORT SECONDS
import http from 'node:http';
const [port, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const chunk = (delta, finish, usage) => `data: ${JSON.stringify({
  id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1767225600, model: 'gpt-4o-mini-2024-07-18',
  choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], usage: usage ?? null })}\n\n`;
const open = new Set();
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(chunk({ role: 'assistant', content: '' }, null));
    const s = { res, left: Number(req.headers['x-bench-seconds'] ?? seconds) };
    open.add(s);
    res.on('close', () => open.delete(s));
  });
});
server.keepAliveTimeout = 120000;
server.maxConnections = 100000;
setInterval(() => {
  for (const s of open) {
    if (--s.left > 0) { s.res.write(chunk({ content: ' word' }, null)); continue; }
    s.res.write(chunk({}, 'stop'));
    s.res.write(chunk(null, null, { prompt_tokens: 13, completion_tokens: 10, total_tokens: 23 }));
    s.res.end('data: [DONE]\n\n');
    open.delete(s);
  }
}, 1000);
server.listen(Number(port), '127.0.0.1', () => console.log(`slow-sse listening on ${port}`));

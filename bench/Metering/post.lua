-- wrk script: POST a small chat completion. BENCH_KEY (optional) is sent as the bearer key,
-- BENCH_STREAM=1 asks for a stream (and adds the header nginx routes on).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
if os.getenv("BENCH_STREAM") == "1" then
  wrk.headers["X-Bench-Stream"] = "1"
  wrk.body = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello."}]}'
else
  wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
end


using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>Secrets stay secret (database, logs, responses, call records), accounts stay apart, and clients cannot steer upstream headers.</summary>
public sealed class SecurityTests(HardeningHost host) : IClassFixture<HardeningHost>
{
    /// <summary>Every response of the mixed workload, as text (status, headers, body).</summary>
    private readonly List<string> _responses = [];

    private async Task<HttpResponseMessage> RecordAsync(Task<HttpResponseMessage> sending)
    {
        var response = await sending;
        _responses.Add($"{(int)response.StatusCode} {response.Headers} {response.Content.Headers} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    /// <summary>Success, gateway errors and upstream errors on every provider, so every code path writes its records and logs.</summary>
    private async Task RunMixedWorkloadAsync()
    {
        await host.Upstream.StubJsonAsync("POST", "/v1/embeddings", 401, """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}""");
        await host.Upstream.StubJsonAsync("POST", "/v1/completions", 500, """{"error":{"message":"boom","type":"server_error"}}""");
        foreach (var target in new[] { Target.OpenAi, Target.Anthropic, Target.Gemini, Target.Estimate })
        {
            (await RecordAsync(host.SendAsync(target, HardeningHost.GoodBody(target)))).Dispose();
            (await RecordAsync(host.SendAsync(target, "{not json"))).Dispose();
            using var wrongKey = host.Request(target, Encoding.UTF8.GetBytes(HardeningHost.GoodBody(target)));
            wrongKey.Headers.Remove("x-api-key");
            wrongKey.Headers.Remove("x-goog-api-key");
            HardeningHost.AddKey(wrongKey, target, "agw_" + new string('x', 40));
            (await RecordAsync(host.Http.SendAsync(wrongKey))).Dispose();
        }
        (await RecordAsync(host.SendAsync(Target.OpenAi, Encoding.UTF8.GetBytes("""{"model":"text-embedding-3-small","input":"hi"}"""), "/openai/v1/embeddings"))).Dispose();
        (await RecordAsync(host.SendAsync(Target.OpenAi, Encoding.UTF8.GetBytes("""{"model":"gpt-4o","prompt":"hi","max_tokens":5}"""), "/openai/v1/completions"))).Dispose();
        (await RecordAsync(host.Client.Http.GetAsync("/v1/credits/usage"))).Dispose();
    }

    private static IEnumerable<string> Secrets(string gatewayKey) =>
        GatewayFactory.ProviderKeys.Values.Append(gatewayKey).Append(gatewayKey[12..]).Append(GatewayFactory.AdminKey);

    [Fact]
    public async Task MixedCalls_ProviderAndGatewayKeys_NeverInResponsesCallRecordsOrLogs()
    {
        await RunMixedWorkloadAsync();

        var records = await host.Gateway.WithDbAsync(db => db.CallRecords.AsNoTracking().ToListAsync());
        var recordsText = JsonSerializer.Serialize(records);
        var log = await host.ReadLogAsync();

        Assert.True(records.Count >= 5, $"only {records.Count} call records");
        Assert.Contains("Proxied POST", log); // the log really was captured
        Assert.Contains(host.Key[..12], log); // the prefix is logged, which is fine
        foreach (var secret in Secrets(host.Key))
        {
            Assert.DoesNotContain(_responses, r => r.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, recordsText, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ProxiedCall_ExactlyOneStructuredLogLine_WithTheCallsFieldsAndNoPromptOrKey()
    {
        // A host of its own, so its log holds this call only.
        var own = await HardeningHost.StartAsync(new Dictionary<string, string?>());
        try
        {
            await AssertOneLogLineAsync(own);
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    private static async Task AssertOneLogLineAsync(HardeningHost own)
    {
        const string prompt = "prompt-text-that-must-never-be-logged";
        using var response = await own.SendAsync(Target.OpenAi,
            $$"""{"model":"gpt-4o","max_tokens":64,"messages":[{"role":"user","content":"{{prompt}}"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var charged = response.Headers.GetValues("X-Credits-Charged").Single();

        // The line is written when the pipeline unwinds, which can be just after the client has the response: wait for it.
        var log = await own.ReadLogAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(20); !log.Contains(requestId, StringComparison.Ordinal) && DateTime.UtcNow < deadline;)
        {
            log = await own.ReadLogAsync();
        }
        var lines = log.Split('\n').Where(l => l.Contains(requestId, StringComparison.Ordinal)).ToList();

        var line = Assert.Single(lines);
        Assert.Contains("Proxied POST openai /openai/v1/chat/completions -> 200 in ", line);
        Assert.True(line.Contains($"key={own.Key[..12]} request={requestId} model=gpt-4o charged={charged} usage=provider attempts=primary:200 error=none", StringComparison.Ordinal), line);
        Assert.DoesNotContain(prompt, log, StringComparison.Ordinal);
        Assert.DoesNotContain(own.Key[12..], log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_AfterCreationAndUse_OnlyHashesInDatabaseFilesIncludingWal()
    {
        var extra = await host.CreateKeyAsync();
        (await host.SendAsync(Target.OpenAi, HardeningHost.GoodBody(Target.OpenAi))).Dispose();

        var dbFile = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(
            host.Gateway.Services.GetRequiredService<IConfiguration>().GetConnectionString("Ledger")).DataSource;
        var text = new StringBuilder();
        foreach (var file in new[] { dbFile, dbFile + "-wal", dbFile + "-shm" }.Where(File.Exists))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            text.Append(Encoding.Latin1.GetString(copy.ToArray()));
        }

        Assert.Contains(host.Key[..12], text.ToString()); // the prefix is stored (sanity: we read the right files)
        foreach (var key in new[] { host.Key, extra })
        {
            Assert.DoesNotContain(key[12..], text.ToString(), StringComparison.Ordinal);
        }
        Assert.DoesNotContain(GatewayFactory.AdminKey, text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminApi_NoAdminKeyConfigured_EveryEndpointRefusesEveryCredential()
    {
        await using var closed = new GatewayFactory(host.Upstream, new Dictionary<string, string?> { ["Gateway:AdminKey"] = "" });
        using var client = closed.CreateClient();
        var id = Guid.NewGuid();
        (HttpMethod Method, string Path)[] endpoints =
        [
            (HttpMethod.Post, "/admin/accounts"), (HttpMethod.Get, $"/admin/accounts/{id}"), (HttpMethod.Post, $"/admin/accounts/{id}/keys"),
            (HttpMethod.Post, $"/admin/accounts/{id}/grants"), (HttpMethod.Post, $"/admin/accounts/{id}/plan"), (HttpMethod.Post, "/admin/referrals"),
            (HttpMethod.Delete, $"/admin/keys/{id}"),
        ];
        foreach (var credential in new[] { null, "", " ", GatewayFactory.AdminKey, "null" })
        {
            foreach (var (method, path) in endpoints)
            {
                using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(new { name = "x", kind = "bonus", credits = 1 }) };
                if (credential is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + credential);
                using var response = await client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with '{credential}': {(int)response.StatusCode}");
            }
        }
        Assert.Equal(0, await closed.WithDbAsync(db => db.Accounts.CountAsync()));
    }

    [Fact]
    public async Task UserApi_OtherAccountsData_NeverShown()
    {
        var (otherId, otherKey, _) = await host.Gateway.CreateAccountWithKeyAsync("other", credits: 7);
        using var other = new GatewayClient(host.Gateway, otherKey);
        using var otherCall = await other.PostJsonAsync("/openai/v1/chat/completions", HardeningHost.GoodBody(Target.OpenAi));
        Assert.Equal(HttpStatusCode.OK, otherCall.StatusCode);
        var otherRequestId = otherCall.Headers.GetValues("X-Request-Id").Single();
        await other.CallAsync(otherRequestId); // the record exists for its owner
        using var mine = await host.SendAsync(Target.OpenAi, HardeningHost.GoodBody(Target.OpenAi));
        var myRequestId = mine.Headers.GetValues("X-Request-Id").Single();
        await host.Client.CallAsync(myRequestId);

        using var foreignCall = await host.Client.Http.GetAsync($"/v1/credits/calls/{otherRequestId}");
        Assert.Equal(HttpStatusCode.NotFound, foreignCall.StatusCode);
        using var foreignCallReverse = await other.Http.GetAsync($"/v1/credits/calls/{myRequestId}");
        Assert.Equal(HttpStatusCode.NotFound, foreignCallReverse.StatusCode);

        // Query parameters naming the other account are ignored: the caller's key decides.
        var usage = await host.Client.Http.GetStringAsync($"/v1/credits/usage?accountId={otherId}&limit=500");
        Assert.DoesNotContain(otherRequestId, usage);
        Assert.Contains(myRequestId, usage);
        var log = await host.Client.Http.GetStringAsync($"/v1/credits/log?accountId={otherId}");
        Assert.DoesNotContain("\"amount\":7", log);
        var balance = await host.Client.Http.GetFromJsonAsync<JsonObject>($"/v1/credits?accountId={otherId}");
        Assert.True(balance!["available"]!.GetValue<decimal>() > 7m);
        var otherBalance = await other.BalanceAsync();
        Assert.True(otherBalance["available"]!.GetValue<decimal>() <= 7m);
        Assert.DoesNotContain(myRequestId, await other.Http.GetStringAsync("/v1/credits/usage?limit=500"));
    }

    [Fact]
    public async Task Proxy_ClientCreditAndHopByHopHeaders_NotPassedUpstream()
    {
        var before = (await host.Upstream.ReceivedAsync()).Count;
        string[] headers =
        [
            $"Authorization: Bearer {host.Key}", "Content-Type: application/json",
            "X-Credits-Remaining: 1000000", "X-Credits-Charged: 0", "X-Gateway-Feature: f",
            "Connection: keep-alive, X-Drop-Me", "X-Drop-Me: 1", "Keep-Alive: timeout=5", "Upgrade: websocket",
            "Proxy-Authorization: Basic c2VjcmV0", "Proxy-Connection: keep-alive", "TE: gzip", "X-Kept: yes",
        ];

        var result = await RawHttp.SendAsync(host.Gateway.BaseAddress, "POST", "/openai/v1/chat/completions", headers,
            Encoding.UTF8.GetBytes(HardeningHost.GoodBody(Target.OpenAi)));

        Assert.Equal(200, result.Status);
        var received = (await host.Upstream.ReceivedAsync()).Skip(before).Single();
        Assert.Equal("yes", received.Headers["X-Kept"]);
        Assert.Equal("Bearer " + GatewayFactory.ProviderKeys["OPENAI_API_KEY"], received.Headers["Authorization"]);
        foreach (var name in new[] { "X-Credits-Remaining", "X-Credits-Charged", "X-Gateway-Feature", "X-Drop-Me", "Keep-Alive", "Upgrade",
                     "Proxy-Authorization", "Proxy-Connection", "TE" })
        {
            Assert.False(received.Headers.ContainsKey(name), $"{name} reached the upstream: {received.Headers.GetValueOrDefault(name)}");
        }
        Assert.False(received.Headers.TryGetValue("Connection", out var connection) && connection.Contains("X-Drop-Me", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Proxy_ChunkedClientBody_ForwardedWithoutTheClientsTransferEncoding()
    {
        var before = (await host.Upstream.ReceivedAsync()).Count;
        var body = Encoding.UTF8.GetBytes(HardeningHost.GoodBody(Target.OpenAi));
        var chunked = Encoding.ASCII.GetBytes($"{body.Length:x}\r\n").Concat(body).Concat("\r\n0\r\n\r\n"u8.ToArray()).ToArray();

        var result = await RawHttp.SendAsync(host.Gateway.BaseAddress, "POST", "/openai/v1/chat/completions",
            [$"Authorization: Bearer {host.Key}", "Content-Type: application/json", "Transfer-Encoding: chunked"], rawBody: chunked);

        Assert.Equal(200, result.Status);
        var received = (await host.Upstream.ReceivedAsync()).Skip(before).Single();
        // The gateway buffered the metered body and forwards it with its own framing (a Content-Length).
        Assert.False(received.Headers.ContainsKey("Transfer-Encoding"), string.Join("; ", received.Headers.Select(h => h.Key + "=" + h.Value)));
        Assert.Equal(body.Length.ToString(), received.Headers["Content-Length"]);
    }

    [Fact]
    public async Task Proxy_UpstreamSetCookie_NotPassedToClient()
    {
        await host.Upstream.StubJsonAsync("POST", "/v1/responses", 200,
            """{"id":"r","object":"response","status":"completed","model":"gpt-4o","output":[],"usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5}}""",
            new JsonObject { ["headers"] = new JsonObject { ["Content-Type"] = "application/json", ["Set-Cookie"] = "session=upstream" } });

        using var response = await host.SendAsync(Target.OpenAi, Encoding.UTF8.GetBytes("""{"model":"gpt-4o","input":"hi"}"""), "/openai/v1/responses");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }
}

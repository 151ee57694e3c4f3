using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.IntegrationTests.Packs;

/// <summary>One gateway with a Stripe endpoint secret, shared by the pack tests (each test uses its own accounts).</summary>
public sealed class PacksGatewayFixture : IAsyncLifetime
{
    /// <summary>The endpoint secret the test gateway is configured with (as Stripe shows it: whsec_…).</summary>
    public const string Secret = "whsec_integration_test_secret_42";

    /// <summary>The gateway.</summary>
    public GatewayFactory Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var upstream = (await SharedWireMock.GetAsync()).NewScope();
        Gateway = new GatewayFactory(upstream, new Dictionary<string, string?>
        {
            ["Packs:StripeWebhookSecret"] = Secret,
            // Warnings and errors go to a file (deleted with the fixture) the tests read: refusals must be logged, and without secret or body.
            ["Serilog:Using:1"] = "Serilog.Sinks.File",
            ["Serilog:WriteTo:0:Name"] = "File",
            ["Serilog:WriteTo:0:Args:path"] = LogPath,
            ["Serilog:WriteTo:0:Args:shared"] = "true",
            ["Serilog:WriteTo:0:Args:flushToDiskInterval"] = "00:00:00.100",
        });
        _ = Gateway.BaseAddress;
    }

    /// <summary>The file the gateway logs to.</summary>
    public string LogPath { get; } = Path.Combine(Path.GetTempPath(), "aigw-tests", "packs-log-" + Guid.NewGuid().ToString("N") + ".txt");

    /// <summary>Waits (bounded) until every one of <paramref name="expected"/> is in the log, and returns the whole log.</summary>
    public async Task<string> WaitForLogAsync(params string[] expected)
    {
        var log = "";
        for (var i = 0; i < 100; i++)
        {
            if (File.Exists(LogPath))
            {
                await using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                log = await reader.ReadToEndAsync();
                if (expected.All(e => log.Contains(e, StringComparison.Ordinal))) return log;
            }
            await Task.Delay(100);
        }
        return log;
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        File.Delete(LogPath);
    }
}

/// <summary>The pack catalog (config/packs.json), the admin issue endpoint and the Stripe Checkout webhook end to end.</summary>
public sealed class PacksTests(PacksGatewayFixture fixture) : IClassFixture<PacksGatewayFixture>
{
    private const string Pack = "topup-small"; // 500 credits, addon, 90 days in config/packs.json
    private const string OtherPack = "topup-medium";
    private GatewayFactory Gateway => fixture.Gateway;

    private async Task<Guid> NewAccountAsync() => (await Gateway.CreateAccountWithKeyAsync("packs", credits: 0)).AccountId;

    private Task<List<Ledger.CreditLot>> PackLotsAsync(Guid accountId) =>
        Gateway.WithDbAsync(db => db.CreditLots.AsNoTracking().Where(l => l.AccountId == accountId).ToListAsync());

    // ---- Stripe, signed as Stripe documents: Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")> ----

    private static string CheckoutEvent(string eventId, string sessionId, Guid accountId, string packId = Pack,
        string paymentStatus = "paid", string type = "checkout.session.completed") =>
        $$"""
        {
          "id": "{{eventId}}",
          "object": "event",
          "type": "{{type}}",
          "api_version": "2025-01-27.acacia",
          "created": 1790000000,
          "livemode": false,
          "data": {
            "object": {
              "id": "{{sessionId}}",
              "object": "checkout.session",
              "mode": "payment",
              "payment_status": "{{paymentStatus}}",
              "status": "complete",
              "amount_total": 500,
              "currency": "usd",
              "metadata": { "account_id": "{{accountId}}", "pack_id": "{{packId}}" }
            }
          }
        }
        """;

    private static string SignatureHeader(string body, string secret = PacksGatewayFixture.Secret, long? timestamp = null)
    {
        var t = timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t.ToString(CultureInfo.InvariantCulture) + "." + body));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    private async Task<HttpResponseMessage> DeliverAsync(string body, string? signature)
    {
        using var client = Gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null) request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        return await client.SendAsync(request);
    }

    private static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Stripe_ValidSignedPaidCheckout_GrantsThePackOnce()
    {
        var account = await NewAccountAsync();
        var body = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account);

        using var response = await DeliverAsync(body, SignatureHeader(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("issued", (await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
        var lot = Assert.Single(await PackLotsAsync(account));
        Assert.Equal("addon", lot.Kind);
        Assert.Equal(500_000_000L, lot.Amount);
        Assert.Equal("pack:" + Pack, lot.SourceRef);
        Assert.Equal(lot.EffectiveAt.AddDays(90), lot.ExpiresAt);
    }

    [Fact]
    public async Task Stripe_SameEventRedeliveredInSequenceAndInParallel_OneGrant()
    {
        var account = await NewAccountAsync();
        var body = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account);

        using (var first = await DeliverAsync(body, SignatureHeader(body))) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var parallel = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => DeliverAsync(body, SignatureHeader(body))));

        Assert.All(parallel, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in parallel) r.Dispose();
        Assert.Single(await PackLotsAsync(account));
    }

    [Fact]
    public async Task Stripe_FirstDeliveriesInParallel_OneGrant()
    {
        var account = await NewAccountAsync();
        var body = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => DeliverAsync(body, SignatureHeader(body))));

        var statuses = new List<string>();
        foreach (var r in responses)
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            statuses.Add((await r.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
            r.Dispose();
        }
        Assert.Equal(1, statuses.Count(s => s == "issued"));
        Assert.Single(await PackLotsAsync(account));
    }

    [Fact]
    public async Task Stripe_SameSessionUnderANewEventIdAndAsyncPaymentEvent_OneGrant()
    {
        var account = await NewAccountAsync();
        var session = NewId("cs_test_");
        var bodies = new[]
        {
            CheckoutEvent(NewId("evt_"), session, account),
            CheckoutEvent(NewId("evt_"), session, account),
            CheckoutEvent(NewId("evt_"), session, account, type: "checkout.session.async_payment_succeeded"),
        };

        foreach (var body in bodies)
        {
            using var response = await DeliverAsync(body, SignatureHeader(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Single(await PackLotsAsync(account));
    }

    public static TheoryData<string> BadSignatures => new() { "tampered", "wrong-secret", "stale", "future", "missing", "malformed" };

    [Theory]
    [MemberData(nameof(BadSignatures))]
    public async Task Stripe_BadSignature_400AndNoGrant(string kind)
    {
        var account = await NewAccountAsync();
        var body = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (sent, header) = kind switch
        {
            // Signed for 500 credits of one pack, delivered as another pack.
            "tampered" => (body.Replace(Pack, OtherPack, StringComparison.Ordinal), SignatureHeader(body)),
            "wrong-secret" => (body, SignatureHeader(body, "whsec_not_the_endpoint_secret")),
            "stale" => (body, SignatureHeader(body, timestamp: now - 600)),
            "future" => (body, SignatureHeader(body, timestamp: now + 600)),
            "missing" => (body, (string?)null),
            _ => (body, "v1=" + new string('a', 64)),
        };

        using var response = await DeliverAsync(sent, header);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await PackLotsAsync(account));
    }

    [Fact]
    public async Task Stripe_RefusalsAndUnfulfillablePayments_AreLoggedWithoutSecretSignatureOrBody()
    {
        var account = await NewAccountAsync();
        var marker = NewId("cs_marker_");
        var forged = CheckoutEvent(NewId("evt_"), marker, account);
        var forgedHeader = SignatureHeader(forged, "whsec_forger");
        var staleHeader = SignatureHeader(forged, timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600);
        var unknownPackEvent = NewId("evt_");
        var unknownPack = CheckoutEvent(unknownPackEvent, NewId("cs_test_"), account, packId: "no-such-pack");

        using (var r = await DeliverAsync(forged, forgedHeader)) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await DeliverAsync(forged, staleHeader)) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await DeliverAsync(unknownPack, SignatureHeader(unknownPack))) Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);

        var log = await fixture.WaitForLogAsync("Stripe webhook refused: Mismatch", "Stripe webhook refused: Stale", unknownPackEvent);
        Assert.Contains("Stripe webhook refused: Mismatch", log);
        Assert.Contains("Stripe webhook refused: Stale", log);
        Assert.Contains($"Stripe event {unknownPackEvent}", log);
        Assert.Contains("cannot be fulfilled: unknown pack", log);
        Assert.DoesNotContain(PacksGatewayFixture.Secret, log);
        Assert.DoesNotContain(forgedHeader.Split("v1=")[1], log);
        Assert.DoesNotContain(staleHeader.Split("v1=")[1], log);
        Assert.DoesNotContain(marker, log);
        Assert.DoesNotContain("\"metadata\"", log);
    }

    [Fact]
    public async Task Stripe_UnpaidSessionOrOtherEventType_200AndNoGrant()
    {
        var account = await NewAccountAsync();
        var unpaid = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account, paymentStatus: "unpaid");
        var expired = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account, type: "checkout.session.expired");

        foreach (var body in new[] { unpaid, expired })
        {
            using var response = await DeliverAsync(body, SignatureHeader(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ignored", (await response.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
        }

        Assert.Empty(await PackLotsAsync(account));
    }

    [Fact]
    public async Task Stripe_PaidButUnknownPackOrAccount_422SoStripeRetries_AndNoGrant()
    {
        var account = await NewAccountAsync();
        var unknownPack = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), account, packId: "no-such-pack");
        var unknownAccount = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), Guid.NewGuid());

        foreach (var body in new[] { unknownPack, unknownAccount })
        {
            using var response = await DeliverAsync(body, SignatureHeader(body));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        }

        Assert.Empty(await PackLotsAsync(account));
    }

    [Fact]
    public async Task Stripe_NoSecretConfigured_EndpointIs404()
    {
        await using var gateway = new GatewayFactory(Gateway.Upstream);
        using var client = gateway.CreateClient();
        var body = CheckoutEvent(NewId("evt_"), NewId("cs_test_"), Guid.NewGuid());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", SignatureHeader(body, ""));

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    // ---- admin issue and user listing ----

    private async Task<HttpResponseMessage> IssueAsync(Guid accountId, string? packId, string? idempotencyKey)
    {
        using var admin = Gateway.CreateAdminClient();
        return await admin.PostAsJsonAsync($"/admin/accounts/{accountId}/packs", new { packId, idempotencyKey });
    }

    [Fact]
    public async Task AdminIssue_SameKeyTwice_OneGrant_SecondIsRepeated()
    {
        var account = await NewAccountAsync();

        using var first = await IssueAsync(account, Pack, "order-1");
        using var second = await IssueAsync(account, Pack, "order-1");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var a = (await first.Content.ReadFromJsonAsync<JsonObject>())!;
        var b = (await second.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(a["grant"]!["id"]!.GetValue<long>(), b["grant"]!["id"]!.GetValue<long>());
        Assert.True(b["grant"]!["repeated"]!.GetValue<bool>());
        Assert.Equal(500m, a["grant"]!["credits"]!.GetValue<decimal>());
        Assert.Single(await PackLotsAsync(account));
    }

    [Fact]
    public async Task AdminIssue_SameKeyInParallel_OneGrant()
    {
        var account = await NewAccountAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => IssueAsync(account, Pack, "order-par")));

        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(9, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        foreach (var r in responses) r.Dispose();
        Assert.Single(await PackLotsAsync(account));
    }

    [Fact]
    public async Task AdminIssue_SameKeyDifferentPack_409ProblemAndNoSecondGrant()
    {
        var account = await NewAccountAsync();
        using var first = await IssueAsync(account, Pack, "order-2");

        using var second = await IssueAsync(account, OtherPack, "order-2");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Single(await PackLotsAsync(account));
    }

    [Fact]
    public async Task AdminIssue_KeyOfAPlainGrant_DoesNotCollide()
    {
        var account = await NewAccountAsync();
        await Gateway.GrantAsync(account, 1, idempotencyKey: "order-3");

        using var response = await IssueAsync(account, Pack, "order-3");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, (await PackLotsAsync(account)).Count);
    }

    [Theory]
    [InlineData("no-such-pack", "k", HttpStatusCode.NotFound)]
    [InlineData(null, "k", HttpStatusCode.BadRequest)]
    [InlineData(Pack, null, HttpStatusCode.BadRequest)]
    [InlineData(Pack, "", HttpStatusCode.BadRequest)]
    public async Task AdminIssue_BadRequest_ProblemAndNoGrant(string? packId, string? key, HttpStatusCode expected)
    {
        var account = await NewAccountAsync();

        using var response = await IssueAsync(account, packId, key);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await PackLotsAsync(account));
    }

    [Fact]
    public async Task AdminIssue_UnknownAccount_404()
    {
        using var response = await IssueAsync(Guid.NewGuid(), Pack, "k");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task UserPacks_ListsTheCatalogForDisplay()
    {
        var (_, key, _) = await Gateway.CreateAccountWithKeyAsync("viewer", credits: 0);
        using var user = new GatewayClient(Gateway, key);

        var packs = (await user.Http.GetFromJsonAsync<JsonObject>("/v1/credits/packs"))!["packs"]!.AsArray();

        Assert.Equal(["topup-small", "topup-medium", "topup-large"], packs.Select(p => p!["id"]!.GetValue<string>()));
        var small = packs[0]!;
        Assert.Equal(500m, small["credits"]!.GetValue<decimal>());
        Assert.Equal(90, small["validDays"]!.GetValue<int>());
        Assert.Equal(5m, small["price"]!.GetValue<decimal>());
        Assert.Equal("USD", small["currency"]!.GetValue<string>());
    }

    [Fact]
    public async Task UserPacks_WithoutKey_401()
    {
        using var client = Gateway.CreateClient();
        using var response = await client.GetAsync("/v1/credits/packs");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

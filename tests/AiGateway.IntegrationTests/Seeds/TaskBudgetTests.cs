using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Seeds;

/// <summary>
/// Qritor agent mode, "an agent cannot run away with an account": <c>X-Gateway-Task-Budget</c> caps what one task
/// (<c>X-Gateway-Task</c>) may spend. <c>costrict/claude</c> costs exactly 1.5 credits per request (estimate = charge),
/// so how many calls fit in a budget does not depend on timing.
/// </summary>
public sealed class TaskBudgetTests : SeedTestBase
{
    private const string Model = "costrict/claude";
    private const decimal CallCost = 1.5m;

    [Fact]
    public async Task TaskBudget_20ParallelCallsOfOneTaskBudgetFor5_Exactly5ChargedRestRefused()
    {
        var (_, client) = await NewAccountAsync(credits: 100);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => CallAsync(client, "agent-run", budget: 5 * CallCost)));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.PaymentRequired).ToList();
        Assert.Equal(15, refused.Count);
        foreach (var response in refused)
        {
            var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
            Assert.Equal("task_budget_exceeded", error["code"]!.GetValue<string>());
            Assert.Equal("insufficient_quota", error["type"]!.GetValue<string>());
        }
        Assert.Equal(100m - 5 * CallCost, await client.AvailableAsync());
        Assert.Equal(0m, (await client.BalanceAsync())["held"]!.GetValue<decimal>());
        var forwarded = (await Upstream.ReceivedAsync()).Where(r => r.Method == "POST").ToList();
        Assert.Equal(5, forwarded.Count);
        Assert.DoesNotContain(forwarded, r => r.Headers.Keys.Any(k => k.StartsWith("X-Gateway-", StringComparison.OrdinalIgnoreCase)));
        foreach (var response in responses) response.Dispose();
    }

    [Fact]
    public async Task TaskBudget_LaterCallAsksForMore_FirstBudgetKept()
    {
        var (_, client) = await NewAccountAsync(credits: 100);

        using var first = await CallAsync(client, "t", budget: 2 * CallCost);
        using var second = await CallAsync(client, "t", budget: 100m);
        using var third = await CallAsync(client, "t", budget: 100m);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Equal(HttpStatusCode.PaymentRequired, third.StatusCode);
    }

    [Fact]
    public async Task TaskBudget_LaterCallLowersIt_LowerBudgetApplies()
    {
        var (_, client) = await NewAccountAsync(credits: 100);

        using var first = await CallAsync(client, "t", budget: 10m);
        using var second = await CallAsync(client, "t", budget: 2m);
        using var third = await CallAsync(client, "t");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.PaymentRequired, second.StatusCode); // 1.5 spent + 1.5 > 2
        Assert.Equal(HttpStatusCode.PaymentRequired, third.StatusCode);  // the budget stays lowered without the header
    }

    [Fact]
    public async Task TaskBudget_OneTaskExhausted_OtherTasksAndUntaggedCallsUnaffected()
    {
        var (_, client) = await NewAccountAsync(credits: 100);
        using (var spend = await CallAsync(client, "capped", budget: CallCost)) Assert.Equal(HttpStatusCode.OK, spend.StatusCode);

        using var capped = await CallAsync(client, "capped");
        using var other = await CallAsync(client, "other");
        using var untagged = await CallAsync(client, task: null);

        Assert.Equal(HttpStatusCode.PaymentRequired, capped.StatusCode);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (other.StatusCode, untagged.StatusCode));
    }

    [Theory]
    [InlineData(null, "5")]
    [InlineData("t", "-1")]
    [InlineData("t", "lots")]
    public async Task TaskBudget_InvalidHeader_BadRequestNothingForwarded(string? task, string budget)
    {
        var (_, client) = await NewAccountAsync(credits: 100);

        using var request = Request(task);
        request.Headers.Add("X-Gateway-Task-Budget", budget);
        using var response = await client.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(await Upstream.ReceivedAsync(), r => r.Method == "POST");
        Assert.Equal(100m, await client.AvailableAsync());
    }

    private static Task<HttpResponseMessage> CallAsync(GatewayClient client, string? task, decimal? budget = null)
    {
        var request = Request(task);
        if (budget is { } b) request.Headers.Add("X-Gateway-Task-Budget", b.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return client.Http.SendAsync(request);
    }

    private static HttpRequestMessage Request(string? task)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{Model}}","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        if (task is not null) request.Headers.Add("X-Gateway-Task", task);
        return request;
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;

namespace AiGateway.IntegrationTests.Metering;

/// <summary>A task budget the ledger cannot represent (below one micro-credit) is refused as bad input, not stored as zero.</summary>
public sealed class TaskBudgetPrecisionTests : IAsyncLifetime
{
    private WireMockScope _upstream = null!;

    public async Task InitializeAsync() => _upstream = (await SharedWireMock.GetAsync()).NewScope();

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("0.0000001")]
    [InlineData("0.0000009")]
    public async Task BudgetBelowOneMicroCredit_400_TaskStillUsable(string budget)
    {
        await _upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        await using var gateway = new GatewayFactory(_upstream);
        var (_, key, _) = await gateway.CreateAccountWithKeyAsync(credits: 10);
        using var client = new GatewayClient(gateway, key);

        using var tiny = await SendAsync(client, budget);
        Assert.Equal(HttpStatusCode.BadRequest, tiny.StatusCode);
        var error = (await tiny.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        Assert.Equal("invalid_task_budget", error["code"]!.GetValue<string>());
        Assert.Contains("0.000001", error["message"]!.GetValue<string>());
        Assert.Empty(await _upstream.ReceivedAsync());

        // The refused header left nothing behind: the same task with a usable budget runs.
        using var usable = await SendAsync(client, "1");
        Assert.Equal(HttpStatusCode.OK, usable.StatusCode);
    }

    private static Task<HttpResponseMessage> SendAsync(GatewayClient client, string budget)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/openai/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Gateway-Task", "tiny-task");
        request.Headers.Add("X-Gateway-Task-Budget", budget);
        return client.Http.SendAsync(request);
    }
}

using System.Net;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>
/// Every bad body on every provider route and on the estimate dry run: a clear 4xx in the provider's error shape,
/// nothing forwarded, nothing charged or held, and the gateway still serves a good call right after.
/// </summary>
public sealed class BadInputTests(HardeningHost host) : IClassFixture<HardeningHost>
{
    /// <summary>Theory data for the three proxy formats and the estimate endpoint.</summary>
    public static IEnumerable<object[]> Cases => BadInputCases.Data(Target.OpenAi, Target.Anthropic, Target.Gemini, Target.Estimate);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Post_BadBody_Returns4xxInProviderShapeForwardsNothingChargesNothing(Target target, string caseName)
    {
        var bad = BadInputCases.All.Single(c => c.Name == caseName);
        var before = await host.BalanceAsync();
        var received = await host.ReceivedCountAsync();

        using var response = await host.SendAsync(target, bad.Body(target)!);

        var body = await HardeningHost.JsonOf(response);
        Assert.True(bad.Status == (int)response.StatusCode, $"{caseName}: expected {bad.Status}, got {(int)response.StatusCode} {body}");
        Assert.Equal(ExpectedType(target, bad.Status), HardeningHost.ErrorTypeOf(target, body));
        Assert.False(string.IsNullOrWhiteSpace(Message(target, body)), "the error carries a message");
        if (target == Target.Gemini) Assert.Equal(bad.Status, body!["error"]!["code"]!.GetValue<int>());
        Assert.Equal(received, await host.ReceivedCountAsync());
        var after = await host.BalanceAsync();
        Assert.Equal(before.Available, after.Available);
        Assert.Equal(0m, after.Held);

        using var good = await host.SendAsync(target, HardeningHost.GoodBody(target));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Theory]
    [InlineData(Target.OpenAi)]
    [InlineData(Target.Anthropic)]
    [InlineData(Target.Estimate)]
    public async Task Post_UnknownModel_Returns404ModelNotFound(Target target)
    {
        var body = HardeningHost.GoodBody(target).Replace("gpt-4o", "no-such-model").Replace("claude-sonnet-4-20250514", "no-such-model");

        using var response = await host.SendAsync(target, body);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var json = await HardeningHost.JsonOf(response);
        if (target != Target.Anthropic) Assert.Equal("model_not_found", json!["error"]!["code"]!.GetValue<string>());
        Assert.Contains("no-such-model", Message(target, json));
    }

    [Fact]
    public async Task Gemini_UnknownModelInPath_Returns404NotFound()
    {
        var received = await host.ReceivedCountAsync();

        using var response = await host.SendAsync(Target.Gemini, System.Text.Encoding.UTF8.GetBytes(HardeningHost.GoodBody(Target.Gemini)),
            HardeningHost.PathOf(Target.Gemini, "no-such-model"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NOT_FOUND", HardeningHost.ErrorTypeOf(Target.Gemini, await HardeningHost.JsonOf(response)));
        Assert.Equal(received, await host.ReceivedCountAsync());
    }

    [Theory]
    [InlineData(Target.OpenAi)]
    [InlineData(Target.Estimate)]
    public async Task Post_JsonContentTypeWithFormBody_Returns400(Target target)
    {
        var received = await host.ReceivedCountAsync();

        using var request = host.Request(target, "model=gpt-4o&messages=hi"u8.ToArray());
        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", HardeningHost.ErrorTypeOf(target, await HardeningHost.JsonOf(response)));
        Assert.Equal(received, await host.ReceivedCountAsync());
    }

    private static string ExpectedType(Target target, int status) => (target, status) switch
    {
        (Target.Anthropic, 404) => "not_found_error",
        (Target.Anthropic, _) => "invalid_request_error",
        (Target.Gemini, 404) => "NOT_FOUND",
        (Target.Gemini, _) => "INVALID_ARGUMENT",
        _ => "invalid_request_error",
    };

    private static string? Message(Target target, System.Text.Json.Nodes.JsonNode? body) => body?["error"]?["message"]?.GetValue<string>();
}

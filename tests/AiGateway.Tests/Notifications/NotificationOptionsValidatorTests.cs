using AiGateway.Notifications;

namespace AiGateway.Tests.Notifications;

/// <summary>The <c>Notifications</c> section is checked at start-up.</summary>
public sealed class NotificationOptionsValidatorTests
{
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private static NotificationOptions Valid() => new()
    {
        Endpoints = [new WebhookEndpointOptions { Name = "billing", Url = "https://example.test/hooks", Secret = Secret }],
        LowBalanceCredits = 10,
    };

    [Fact]
    public void Validate_ValidOptions_Succeeds() =>
        Assert.True(new NotificationOptionsValidator().Validate(null, Valid()).Succeeded);

    [Theory]
    [InlineData("url")]
    [InlineData("secret")]
    [InlineData("duplicate")]
    [InlineData("event")]
    [InlineData("percent")]
    [InlineData("credits")]
    [InlineData("retry")]
    public void Validate_OneBadSetting_FailsNamingIt(string bad)
    {
        var options = Valid();
        var expected = bad switch
        {
            "url" => Set(() => options.Endpoints[0].Url = "ftp://example.test/x", "Url"),
            "secret" => Set(() => options.Endpoints[0].Secret = "plain-secret", "Secret"),
            "duplicate" => Set(() => options.Endpoints.Add(new WebhookEndpointOptions { Name = "BILLING", Url = "http://x.test/", Secret = Secret }), "used twice"),
            "event" => Set(() => options.Events = ["balance.lowish"], "unknown event type"),
            "percent" => Set(() => options.LowBalancePercent = 0, "LowBalancePercent"),
            "credits" => Set(() => options.LowBalanceCredits = 0.0000001m, "LowBalanceCredits"),
            _ => Set(() => options.MaxRetryDelay = TimeSpan.FromSeconds(1), "FirstRetryDelay"),
        };

        var result = new NotificationOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage);
    }

    private static string Set(Action change, string expected)
    {
        change();
        return expected;
    }
}

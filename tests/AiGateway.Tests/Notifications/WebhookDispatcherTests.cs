using AiGateway.Notifications;

namespace AiGateway.Tests.Notifications;

/// <summary>The dispatcher's retry schedule.</summary>
public sealed class WebhookDispatcherTests
{
    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 10)]
    [InlineData(3, 20)]
    [InlineData(10, 2560)]
    [InlineData(11, 3600)]
    [InlineData(1000, 3600)]
    [InlineData(int.MaxValue, 3600)]
    public void RetryDelay_DoublesFromTheFirstDelayUpToTheCap(int attempts, int seconds)
    {
        var options = new NotificationOptions { FirstRetryDelay = TimeSpan.FromSeconds(5), MaxRetryDelay = TimeSpan.FromHours(1) };

        Assert.Equal(TimeSpan.FromSeconds(seconds), WebhookDispatcher.RetryDelay(options, attempts));
    }
}

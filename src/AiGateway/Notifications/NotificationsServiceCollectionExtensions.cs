using Microsoft.Extensions.Options;

namespace AiGateway.Notifications;

/// <summary>Registers balance notifications.</summary>
public static class NotificationsServiceCollectionExtensions
{
    /// <summary>
    /// Binds and validates <c>Notifications</c>, registers the outbox the ledger writes events into, the settings store,
    /// the webhook dispatcher and the lot-expiry scan (both idle when no endpoint is configured).
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddOptions<NotificationOptions>().BindConfiguration(NotificationOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NotificationOptions>, NotificationOptionsValidator>();
        services.AddSingleton<NotificationOutbox>();
        services.AddSingleton<NotificationSettings>();
        services.AddHttpClient(WebhookDispatcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            // A receiver's redirect is not followed: the signed body goes only to the configured URL.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<LotExpiryScanService>();
        services.AddHostedService(sp => sp.GetRequiredService<LotExpiryScanService>());
        return services;
    }
}

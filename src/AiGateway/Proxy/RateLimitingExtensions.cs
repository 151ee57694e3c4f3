using AiGateway.Hosting;

namespace AiGateway.Proxy;

/// <summary>Registers the gateway's per-key and per-account rate limits (enforced by <see cref="RateLimitMiddleware"/>).</summary>
public static class RateLimitingExtensions
{
    /// <summary>Binds and validates <see cref="RateLimitOptions"/> and adds the <see cref="GatewayRateLimiter"/> and <see cref="AuthFailureLimiter"/> singletons.</summary>
    public static IServiceCollection AddGatewayRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName)
            .Validate(o => o.PerKeyPerMinute >= 0 && o.PerAccountPerMinute >= 0 && o.ConcurrentPerAccount >= 0 && o.FailedAuthPerMinute >= 0,
                "RateLimits:* must be 0 (off) or positive.")
            .ValidateOnStart();
        services.AddSingleton<GatewayRateLimiter>();
        services.AddSingleton<AuthFailureLimiter>();
        return services;
    }
}

namespace AiGateway.Proxy;

/// <summary>Registers and maps the YARP reverse proxy with the gateway's provider routes from <c>config/</c>.</summary>
public static class ProxyExtensions
{
    /// <summary>Adds YARP with routes and clusters from the <c>ReverseProxy</c> section and the provider transforms.</summary>
    public static IServiceCollection AddGatewayProxy(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddReverseProxy()
            .LoadFromConfig(configuration.GetSection("ReverseProxy"))
            .AddTransforms<ProviderTransformProvider>()
            .AddTransforms<Metering.MeteringTransformProvider>();
        services.AddGatewayRateLimits();
        return services;
    }

    /// <summary>Maps the proxy with the gateway's per-call pipeline: log, authenticate, rate-limit, hand unified calls to their provider route, meter; unmetered requests go on through YARP's own steps.</summary>
    public static IEndpointRouteBuilder MapGatewayProxy(this IEndpointRouteBuilder app)
    {
        app.MapReverseProxy(pipeline =>
        {
            pipeline.UseProxyCallLog();
            pipeline.UseMiddleware<ProviderPathGuardMiddleware>();
            pipeline.UseMiddleware<GatewayAuthMiddleware>();
            pipeline.UseMiddleware<RateLimitMiddleware>();
            pipeline.UseMiddleware<Unified.UnifiedEndpointMiddleware>();
            pipeline.UseMiddleware<Metering.MeteringMiddleware>();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }
}

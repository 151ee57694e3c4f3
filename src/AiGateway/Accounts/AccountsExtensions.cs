namespace AiGateway.Accounts;

/// <summary>Registers account and key services.</summary>
public static class AccountsExtensions
{
    /// <summary>Adds the gateway-key authenticator and its cache.</summary>
    public static IServiceCollection AddGatewayAccounts(this IServiceCollection services)
    {
        services.AddMemoryCache();
        services.AddSingleton<GatewayKeyAuthenticator>();
        return services;
    }
}

using Microsoft.Extensions.Options;

namespace AiGateway.Packs;

/// <summary>Registers the credit-pack catalog.</summary>
public static class PacksServiceCollectionExtensions
{
    /// <summary>Binds <c>Packs</c> (from <c>config/packs.json</c>), validates it at start-up and registers <see cref="PackIssuer"/>.</summary>
    public static IServiceCollection AddPacks(this IServiceCollection services)
    {
        services.AddOptions<PacksOptions>().BindConfiguration(PacksOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PacksOptions>, PacksOptionsValidator>();
        services.AddSingleton<PackIssuer>();
        return services;
    }
}

using Microsoft.Extensions.Options;

namespace AiGateway.Pricing;

/// <summary>Registers the price book.</summary>
public static class PricingServiceCollectionExtensions
{
    /// <summary>Binds <c>Pricing</c> (from <c>config/prices.json</c>), validates it at start-up and registers the <see cref="PriceBook"/> singleton.</summary>
    public static IServiceCollection AddPricing(this IServiceCollection services)
    {
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PricingOptions>, PricingOptionsValidator>();
        services.AddSingleton<PriceBook>();
        return services;
    }
}
